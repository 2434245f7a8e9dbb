package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/providers"
)

// signFlags are the flags sign and send share: which provider, which credential, which body.
type signFlags struct {
	provider string
	secret   string
	user     string
	password string
	token    string
	file     string
	scheme   string
	headers  headerList
}

type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

func (f *signFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.provider, "provider", "", "provider: "+strings.Join(providers.Names(), ", "))
	fs.StringVar(&f.secret, "secret", "", "HMAC secret (none of -secret, -user, -token: the demo endpoint's credentials)")
	fs.StringVar(&f.user, "user", "", "CentrePoint Basic username (with -password)")
	fs.StringVar(&f.password, "password", "", "CentrePoint Basic password")
	fs.StringVar(&f.token, "token", "", "CentrePoint bearer token")
	fs.StringVar(&f.file, "file", "-", "JSON body file (- for stdin)")
	fs.StringVar(&f.scheme, "scheme", "", "another documented signing form of the provider (zignsec: legacy)")
	fs.Var(&f.headers, "H", "extra header \"Name: value\", replacing a signed one of the same name (repeatable)")
}

// signed reads the body and returns it with the headers the provider would send.
func (f *signFlags) signed(stdin io.Reader) ([]byte, http.Header, error) {
	p, ok := providers.Lookup(f.provider)
	if !ok {
		return nil, nil, fmt.Errorf("-provider %q: known providers are %s", f.provider, strings.Join(providers.Names(), ", "))
	}
	var body []byte
	var err error
	if f.file == "-" {
		body, err = io.ReadAll(stdin)
	} else {
		body, err = os.ReadFile(f.file)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	// The demo endpoint's credentials unless a credential is given. Their Settings always come
	// along: a preset's scheme (Stripe's, Slack's, …) or its demo public URL is in them, and
	// without them the hmac presets would sign as the hmac provider's demo, GitHub, does.
	demo := p.DemoCredentials(bridge.DemoSecret)
	creds := providers.Credentials{Settings: demo.Settings}
	if f.secret != "" {
		creds.Secrets = []string{f.secret}
	}
	if f.user != "" {
		creds.BasicAuth = &providers.BasicAuth{Username: f.user, Password: f.password}
	}
	if f.token != "" {
		creds.BearerTokens = []string{f.token}
	}
	if len(creds.Secrets) == 0 && creds.BasicAuth == nil && len(creds.BearerTokens) == 0 {
		creds = demo
	}
	if err := p.CheckCredentials(creds); err != nil {
		return nil, nil, fmt.Errorf("%s needs a credential (-secret, -user/-password or -token): %w", p.Name, err)
	}
	sign := p.Sign
	if f.scheme != "" {
		if sign = p.SignAs[f.scheme]; sign == nil {
			known := make([]string, 0, len(p.SignAs))
			for name := range p.SignAs {
				known = append(known, name)
			}
			sort.Strings(known)
			return nil, nil, fmt.Errorf("-scheme %q: %s knows %s", f.scheme, p.Name, orNone(known))
		}
	}
	now := time.Now()
	if p.SignBody != nil && f.scheme == "" {
		// The sender signs inside the body: sign it there first.
		if body, err = p.SignBody(creds, body, now); err != nil {
			return nil, nil, fmt.Errorf("sign: %w", err)
		}
	}
	h, err := sign(creds, body, now)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	for _, kv := range f.headers {
		name, value, ok := strings.Cut(kv, ":")
		if !ok {
			return nil, nil, fmt.Errorf("-H %q: want \"Name: value\"", kv)
		}
		h.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return body, h, nil
}

func runSign(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bridge sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f signFlags
	f.register(fs)
	curl := fs.String("curl", "", "print a curl command that POSTs the body to this URL instead of the headers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	body, h, err := f.signed(stdin)
	if err != nil {
		return err
	}
	if *curl != "" {
		fmt.Fprintf(stdout, "curl -i %s", shellQuote(*curl))
		for _, name := range sortedNames(h) {
			fmt.Fprintf(stdout, " \\\n  -H %s", shellQuote(name+": "+h.Get(name)))
		}
		fmt.Fprintf(stdout, " \\\n  --data-binary %s\n", shellQuote(string(body)))
		return nil
	}
	for _, name := range sortedNames(h) {
		fmt.Fprintf(stdout, "%s: %s\n", name, h.Get(name))
	}
	return nil
}

func runSend(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bridge send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f signFlags
	f.register(fs)
	url := fs.String("url", "", "where to POST, e.g. http://127.0.0.1:8080/webhooks/aghanim (default: the demo endpoint of -provider)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *url == "" {
		*url = "http://127.0.0.1:8080/webhooks/" + f.provider
	}
	body, h, err := f.signed(stdin)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header = h
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	fmt.Fprintln(stdout, resp.Proto, resp.Status)
	for _, name := range sortedNames(resp.Header) {
		fmt.Fprintf(stdout, "%s: %s\n", name, strings.Join(resp.Header.Values(name), ", "))
	}
	fmt.Fprintln(stdout)
	if len(answer) > 0 {
		fmt.Fprintln(stdout, string(answer))
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

func sortedNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// orNone lists names, or says there are none.
func orNone(names []string) string {
	if len(names) == 0 {
		return "no other scheme"
	}
	return strings.Join(names, ", ")
}
