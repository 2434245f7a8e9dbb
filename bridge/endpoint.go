package bridge

import (
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/webhookbridge/bridge/providers"
)

// Endpoint is one configured webhook endpoint, resolved for the request path: its provider,
// credentials, CloudEvents source, subjects and synchronous questions.
type Endpoint struct {
	ID       string
	Provider *providers.Provider
	// Success and Rejection are the provider's answers, or the endpoint's own where its
	// provider takes them from the settings.
	Success, Rejection providers.Answer
	// TypePrefix starts the CloudEvents type of the endpoint's events: the provider's, or the
	// endpoint's own where its provider takes one (type_prefix).
	TypePrefix    string
	Credentials   providers.Credentials
	Source        string        // "/webhooks/<id>"
	sourceURI     *types.URIRef // Source parsed once; nil if it does not parse (never for a valid id)
	subjectPrefix string        // "<stream prefix>.<id>."
	replyPrefix   string        // "<reply prefix>.<id>."
	replyEvents   map[string]bool
	ReplyTimeout  time.Duration
	allowFrom     []netip.Prefix // empty: any client
	// unsignedTypes are the only types an unsigned request may carry; nil: any.
	unsignedTypes map[string]bool
	// metrics are its metric children, set when the server routes it.
	metrics *endpointMetrics
}

// newEndpoint builds the endpoint Compile checked: its provider, its credentials with the
// provider's settings, and its parsed allow_from.
func newEndpoint(c EndpointConfig, s StreamConfig, p *providers.Provider, creds providers.Credentials, settings providers.Settings, allowFrom []netip.Prefix) *Endpoint {
	ep := &Endpoint{
		ID:            c.ID,
		Provider:      p,
		TypePrefix:    p.TypePrefix,
		Credentials:   creds,
		Source:        "/webhooks/" + c.ID,
		subjectPrefix: s.SubjectPrefix + "." + c.ID + ".",
		replyPrefix:   s.ReplyPrefix + "." + c.ID + ".",
		replyEvents:   map[string]bool{},
		ReplyTimeout:  c.ReplyTimeout,
		allowFrom:     allowFrom,
	}
	if u, err := url.Parse(ep.Source); err == nil {
		ep.sourceURI = &types.URIRef{URL: *u}
	}
	ep.Success, ep.Rejection = p.Success, p.Rejection
	if p.EndpointAnswers != nil {
		ep.Success, ep.Rejection = p.EndpointAnswers(settings.Value)
	}
	if settings.TypePrefix != "" {
		ep.TypePrefix = settings.TypePrefix
	}
	// The endpoint's own keys win over the provider's and its settings'.
	if c.TypePrefix != "" {
		ep.TypePrefix = c.TypePrefix
	}
	if c.SuccessStatus != nil {
		ep.Success.Status = *c.SuccessStatus
	}
	if c.RejectionStatus != nil {
		ep.Rejection.Status = *c.RejectionStatus
	}
	if c.UnsignedTypes != nil {
		ep.unsignedTypes = map[string]bool{}
		for _, t := range c.UnsignedTypes {
			ep.unsignedTypes[strings.ToLower(strings.TrimSpace(t))] = true
		}
	}
	if c.ReplyEvents != nil {
		for _, t := range *c.ReplyEvents {
			ep.replyEvents[strings.ToLower(t)] = true
		}
	}
	return ep
}

// Subject is where an event of this endpoint with the given type (after the provider's
// prefix) is published.
func (e *Endpoint) Subject(eventType string) string { return e.subjectPrefix + typeTokens(eventType) }

// ReplySubject is where a question of the given type is asked.
func (e *Endpoint) ReplySubject(eventType string) string {
	return e.replyPrefix + typeTokens(eventType)
}

// Asks reports whether events of the given type need a synchronous answer.
func (e *Endpoint) Asks(eventType string) bool { return e.replyEvents[strings.ToLower(eventType)] }

// AllowsUnsigned reports whether a request without proof may carry an event of the given type.
func (e *Endpoint) AllowsUnsigned(eventType string) bool {
	return e.unsignedTypes == nil || e.unsignedTypes[strings.ToLower(eventType)]
}

// Allows reports whether a request from the client address ip may use the endpoint: any address
// when allow_from is empty, else only one inside a listed address or CIDR. An address that does
// not parse is refused.
func (e *Endpoint) Allows(ip string) bool {
	if len(e.allowFrom) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range e.allowFrom {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
