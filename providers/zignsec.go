package providers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ZignSec (electronic identification, SMS). Documentation: the "Webhooks" page of ZignSec's
// public documentation (docs.zignsec.com). Two generations share one header:
//   - legacy (v2 eIDs): HMAC-SHA256(secret, raw body), base64 in the documentation's C# sample,
//     lower-case hex in production receivers: either is accepted;
//   - session/workflow API: "t=<timestamp>,v1=<hex>[,v1=<hex>…]" with the hex
//     HMAC-SHA256(secret, "{t}.{raw body}").
//
// A value containing "v1=" is the newer scheme; a legacy MAC never contains it (hex has no "=",
// and a 32-byte MAC's base64 ends in one of "AEIMQUYcgkosw048" before its "=").
const ZignSecSignatureHeader = "X-ZignSec-Hmac-SHA256"

// ZignSec declares the ZignSec provider.
var ZignSec = &Provider{
	Name:       "zignsec",
	TypePrefix: "com.zignsec",
	// "Any 2xx acknowledges"; nothing is said about the body.
	Success:   emptyAnswer(http.StatusOK),
	Rejection: emptyAnswer(http.StatusUnauthorized),
	// "If a webhook for any reason is not received correctly, ZignSec will retry": any non-2xx.
	Retry:           retryLater(http.StatusServiceUnavailable),
	DemoCredentials: secretsOnly,
	Load: LoadProfile{
		DefaultType: "session_updated",
		Example: func(eventType, run string, n uint64, _ time.Time) Example {
			body := `{"event":"` + eventType + `","id":"load-` + run + "_" + strconv.FormatUint(n, 10) +
				`","relay_state":"loadgen","result":{"errors":[],"status":"Finished"}}`
			return Example{Body: []byte(body)} // the id names a session: the bridge uses the body's hash
		},
	},
	CheckCredentials: needSecret,

	// timestamp_tolerance (docs/providers/zignsec.md) is off unless set: ZignSec retries for up
	// to 48 hours with the original signature and documents no tolerance.
	SettingKeys: []string{timestampToleranceKey},
	Configure:   configureTimestampTolerance,

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		value, err := proofHeader(req.Header, ZignSecSignatureHeader)
		if err != nil {
			return err
		}
		tolerance := toleranceOf(creds.Settings)
		if !strings.Contains(value, "v1=") {
			if err := verifyMAC(req.Header, ZignSecSignatureHeader, decodeHexOrBase64, sha256.New, creds.Secrets, req.Body); err != nil {
				return err
			}
			if tolerance > 0 {
				// The legacy MAC covers the body alone: nothing says when it was made, so a
				// captured request verifies forever. An endpoint that bounds the age of its
				// signatures therefore refuses it as stale, not malformed: the proof is
				// well-formed and genuine, and the setting that refuses it is
				// timestamp_tolerance (the reason logged, stale_timestamp, points there).
				return fmt.Errorf("header %s: legacy signature carries no timestamp, tolerance %s: %w", ZignSecSignatureHeader, tolerance, ErrStaleTimestamp)
			}
			return nil
		}
		ts, secs, sigs, err := parseZignSecSignature(value)
		if err != nil {
			return fmt.Errorf("header %s: %w", ZignSecSignatureHeader, err)
		}
		// Each secret's MAC is computed once, however many v1 values the header carries.
		macs := make(map[string][]byte, len(creds.Secrets))
		for _, s := range creds.Secrets {
			macs[s] = macOf(sha256.New, s, []byte(ts), []byte("."), req.Body)
		}
		matched := false
		for _, sig := range sigs {
			if anySecret(creds.Secrets, sig, func(s string) []byte { return macs[s] }) {
				matched = true
			}
		}
		if !matched {
			return fmt.Errorf("header %s: %w", ZignSecSignatureHeader, ErrBadSignature)
		}
		if err := checkTimestampAge(secs, req, tolerance); err != nil {
			return fmt.Errorf("header %s: t: %w", ZignSecSignatureHeader, err)
		}
		return nil
	}),

	Map: func(req Request) (Event, error) {
		read := zignSecJSONFields
		if zignSecIsXML(req) {
			read = zignSecXMLFields
		}
		f, err := read(req.Body)
		if err != nil {
			return Event{}, err
		}
		// The id names a session (or an SMS) that sends many events, and an SMS status change
		// reuses it with a new status: it is the subject, never the event id, so the bridge
		// uses the hash of the body and each distinct body is its own event.
		id := f.id
		switch {
		case strings.TrimSpace(f.event) != "":
			// Session/workflow API: session_created, workflow_session_created, session_updated,
			// workflow_session_state_updated, seen capitalised as Session_Created.
			if id == "" {
				id = f.workflowSessionID
			}
			return Event{Type: strings.ToLower(strings.TrimSpace(f.event)), Subject: id}, nil
		case f.identity || f.bankIDSE || f.method:
			// Legacy v2 eID: the body is the collect result of a finished identification.
			return Event{Type: "identification.completed", Subject: id}, nil
		case f.status && id != "":
			// SMS API: "a webhook each time the SMS delivery status changes", carrying the
			// message's id and its status. The documentation shows no example, so any body with
			// an id and a status but no identification fields is taken as one; the status itself
			// stays in the data rather than in the type, which keeps one subject per product.
			return Event{Type: "sms.status_changed", Subject: id}, nil
		}
		return Event{}, fmt.Errorf("no event, identification result or SMS status: %w", ErrUnmappable)
	},

	// The legacy form, as the C# sample in ZignSec's webhook documentation computes it:
	// base64 HMAC-SHA256 of the raw body, no timestamp.
	SignAs: map[string]SignFunc{"legacy": func(creds Credentials, body []byte, _ time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(ZignSecSignatureHeader, base64.StdEncoding.EncodeToString(macOf(sha256.New, secret, body)))
		return h, nil
	}},

	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(ZignSecSignatureHeader, "t="+ts+",v1="+hexMAC(sha256.New, secret, []byte(ts), []byte("."), body))
		return h, nil
	},
}

// parseZignSecSignature reads "t=<ts>,v1=<hex>[,v1=<hex>…]": exactly one t, Unix seconds in
// digits only (so no byte of the body can move into it, scheme.go), at least one v1, every v1
// valid hex. Other keys are ignored, as for schemes of this shape new versions are added beside
// v1. secs is ts read as a number.
func parseZignSecSignature(value string) (ts string, secs int64, sigs [][]byte, err error) {
	haveTS := false
	for _, part := range strings.Split(value, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", 0, nil, fmt.Errorf("element without \"=\": %w", ErrMalformedProof)
		}
		switch strings.TrimSpace(key) {
		case "t":
			if haveTS {
				return "", 0, nil, fmt.Errorf("t given twice: %w", ErrMalformedProof)
			}
			ts, haveTS = strings.TrimSpace(val), true
		case "v1":
			sig, err := decodeHex(strings.TrimSpace(val))
			if err != nil {
				return "", 0, nil, fmt.Errorf("v1: %w", err)
			}
			sigs = append(sigs, sig)
		}
	}
	switch {
	case !haveTS:
		return "", 0, nil, fmt.Errorf("no t: %w", ErrMalformedProof)
	case len(sigs) == 0:
		return "", 0, nil, fmt.Errorf("no v1: %w", ErrMalformedProof)
	}
	if secs, err = parseSignedTimestamp(ts); err != nil {
		return "", 0, nil, fmt.Errorf("t: %w", err)
	}
	return ts, secs, sigs, nil
}

// zignSecFields are the few fields the mapping reads, whatever the body's format.
type zignSecFields struct {
	event, id, workflowSessionID string // "" when absent or null; ids as string or number text
	// Present and not null: the value itself does not matter.
	identity, bankIDSE, method, status bool
}

// zignSecFieldNames are the fields' names, as JSON keys and as XML element names, in the order of
// the zignSec* indices below. Both are matched as scanFieldsFold matches keys: exactly, else
// case-insensitively (encoding/json does), as ZignSec's .NET services have been seen to
// capitalise them.
var zignSecFieldNames = [...]string{
	zignSecEvent:             "event",
	zignSecID:                "id",
	zignSecWorkflowSessionID: "workflow_session_id",
	zignSecIdentity:          "identity",
	zignSecBankIDSE:          "BankIDSE",
	zignSecMethod:            "method",
	zignSecStatus:            "status",
}

const (
	zignSecEvent = iota
	zignSecID
	zignSecWorkflowSessionID
	zignSecIdentity
	zignSecBankIDSE
	zignSecMethod
	zignSecStatus
)

// The fields are read in one scanFieldsFold call.
var _ [maxScanPaths - len(zignSecFieldNames)]struct{}

// zignSecJSONFields reads the fields from a JSON object.
func zignSecJSONFields(body []byte) (zignSecFields, error) {
	raw, err := scanFieldsFold(body, zignSecFieldNames[:]...)
	if err != nil {
		return zignSecFields{}, err
	}
	// As when the event was decoded into a Go string: null is no event, any other value that is
	// not a string makes the body unmappable. Only the last of repeated event keys is looked at
	// (json.Unmarshal failed when any of them was not a string; the XML reading still does).
	event, isString := jsonString(raw[zignSecEvent])
	if raw[zignSecEvent] != nil && !isString && string(raw[zignSecEvent]) != "null" {
		return zignSecFields{}, fmt.Errorf("event is not a string: %w", ErrUnmappable)
	}
	return zignSecFields{
		event:             event,
		id:                stringOrNumber(raw[zignSecID]),
		workflowSessionID: stringOrNumber(raw[zignSecWorkflowSessionID]),
		identity:          zignSecHas(raw[zignSecIdentity]),
		bankIDSE:          zignSecHas(raw[zignSecBankIDSE]),
		method:            zignSecHas(raw[zignSecMethod]),
		status:            zignSecHas(raw[zignSecStatus]),
	}, nil
}

// zignSecHas reports whether a JSON field is present and not null.
func zignSecHas(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// ZignSec's "Webhooks" documentation says the event data "can be stored in JSON or XML formats":
// a body is read as XML when its Content-Type says so or when it starts with "<", whatever its
// label, with the same fields and the same rules, the fields being the root element's direct
// children.
//
// XML has no null. .NET's serialisers write one as an omitted element, an empty element or an
// element with xsi:nil="true", and an empty element cannot be told from an empty string: all
// three are taken as absent. An element counts as present when it has child elements, text other
// than white space, or attributes other than namespace declarations and xsi:*. Text is trimmed of
// the white space that indentation adds. Namespaces are ignored: a field is known by its local
// name, as DataContractSerializer puts every element in its own default namespace.
const (
	xmlSpace     = " \t\r\n"
	xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"
	// zignSecMaxXMLDepth bounds the decoder's stack of open elements, as encoding/json and
	// xml.Unmarshal bound nesting (10000 levels), so a deep document costs no more than a
	// deep JSON one.
	zignSecMaxXMLDepth = 10000
)

// utf8BOM starts bodies that .NET writes with Encoding.UTF8.
var utf8BOM = []byte("\xef\xbb\xbf")

// zignSecIsXML reports whether a body is to be read as XML: its Content-Type is application/xml
// or text/xml (with any parameters), or its first byte other than white space (and a UTF-8 byte
// order mark) is "<".
func zignSecIsXML(req Request) bool {
	mediaType, _, _ := strings.Cut(req.Header.Get("Content-Type"), ";")
	switch strings.ToLower(strings.TrimSpace(mediaType)) {
	case "application/xml", "text/xml":
		return true
	}
	rest := bytes.TrimLeft(bytes.TrimPrefix(req.Body, utf8BOM), xmlSpace)
	return len(rest) > 0 && rest[0] == '<'
}

// zignSecXMLElement is one direct child of the root element as far as it has been read.
type zignSecXMLElement struct {
	field    string // its name in zignSecFieldNames; "" for any other element
	text     []byte // character data directly inside it (only kept for a field)
	children bool
	attrs    bool // attributes other than namespace declarations and xsi:*
	null     bool // xsi:nil="true"
}

// scalar is the element's text, as a JSON string or number would be read: "" when null or when
// the element has children (a JSON object or array is no id).
func (e *zignSecXMLElement) scalar() string {
	if e.null || e.children {
		return ""
	}
	return strings.Trim(string(e.text), xmlSpace)
}

// present reports whether the element is present and not null.
func (e *zignSecXMLElement) present() bool {
	return !e.null && (e.children || e.attrs || len(bytes.Trim(e.text, xmlSpace)) > 0)
}

// zignSecXMLFields reads the fields from an XML document, token by token without recursion: only
// the root's direct children are looked at, but the whole document must be well-formed (as
// json.Unmarshal demands of a JSON body), with a single root element. A repeated field takes its
// last value, as a repeated JSON key does.
func zignSecXMLFields(body []byte) (zignSecFields, error) {
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, utf8BOM)))
	d.CharsetReader = zignSecCharsetReader
	var (
		f        zignSecFields
		depth    int // open elements: 1 inside the root, 2 inside one of its children
		haveRoot bool
		child    zignSecXMLElement
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return zignSecFields{}, zignSecXMLError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth > zignSecMaxXMLDepth:
				return zignSecFields{}, fmt.Errorf("XML nested deeper than %d elements: %w", zignSecMaxXMLDepth, ErrUnmappable)
			case depth == 1 && haveRoot:
				return zignSecFields{}, fmt.Errorf("XML with more than one root element: %w", ErrUnmappable)
			case depth == 1:
				haveRoot = true
			case depth == 2:
				child = zignSecXMLChild(t)
			case depth == 3:
				child.children = true
			}
		case xml.EndElement:
			if depth == 2 && child.field != "" {
				if err := f.setXML(&child); err != nil {
					return zignSecFields{}, err
				}
			}
			depth--
		case xml.CharData:
			switch {
			case depth == 0 && len(bytes.Trim(t, xmlSpace)) > 0:
				return zignSecFields{}, fmt.Errorf("XML with text outside the root element: %w", ErrUnmappable)
			case depth == 2 && child.field != "":
				child.text = append(child.text, t...)
			}
		}
	}
	if !haveRoot {
		return zignSecFields{}, fmt.Errorf("XML without a root element: %w", ErrUnmappable)
	}
	return f, nil
}

// zignSecXMLChild starts reading a direct child of the root element.
func zignSecXMLChild(start xml.StartElement) zignSecXMLElement {
	var e zignSecXMLElement
	if i := matchName(zignSecFieldNames[:], []byte(start.Name.Local)); i >= 0 {
		e.field = zignSecFieldNames[i]
	}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns":
			// A namespace declaration carries no data.
		case a.Name.Space == xsiNamespace || a.Name.Space == "xsi":
			// The prefix is accepted undeclared too: the decoder leaves it as the space.
			if a.Name.Local == "nil" {
				v := strings.Trim(a.Value, xmlSpace)
				e.null = v == "true" || v == "1"
			}
		default:
			e.attrs = true
		}
	}
	return e
}

// setXML records a field's element once it is closed.
func (f *zignSecFields) setXML(e *zignSecXMLElement) error {
	switch e.field {
	case "event":
		if e.children && !e.null {
			// As in JSON, where an event that is not a string fails the whole body.
			return fmt.Errorf("XML event with child elements: %w", ErrUnmappable)
		}
		f.event = e.scalar()
	case "id":
		f.id = e.scalar()
	case "workflow_session_id":
		f.workflowSessionID = e.scalar()
	case "identity":
		f.identity = e.present()
	case "BankIDSE":
		f.bankIDSE = e.present()
	case "method":
		f.method = e.present()
	case "status":
		f.status = e.present()
	}
	return nil
}

// zignSecCharsetReader lets the decoder read a body whose declaration names an encoding other
// than UTF-8. US-ASCII is UTF-8. "utf-16" is let through as it is: .NET writes that declaration
// whenever it serialises through a StringWriter, whatever the encoding of the bytes it then
// sends, and a body that really is UTF-16 then fails as invalid UTF-8. Any other encoding makes
// the body unmappable.
func zignSecCharsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf8", "us-ascii", "ascii", "utf-16", "utf16", "unicode":
		return input, nil
	}
	return nil, errors.New("unsupported encoding declaration") // the label is the body's: not quoted
}

// zignSecXMLError wraps a decoder error. A syntax error is reported by its line only: its
// message can quote the body (an entity's name, say), and bodies carry personal data that must
// not reach the logs.
func zignSecXMLError(err error) error {
	var syntax *xml.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("XML not well-formed at line %d: %w", syntax.Line, ErrUnmappable)
	}
	// Other decoder errors can quote the body too (an encoding label, a name): none is quoted.
	return fmt.Errorf("XML not readable: %w", ErrUnmappable)
}
