package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/webhookbridge/bridge/cloudevents"
	"github.com/webhookbridge/bridge/providers"
)

// errTooLarge is a body over the limit.
var errTooLarge = errors.New("body too large")

// headerValue is h.Get(key) for a key already in canonical form: Get would canonicalize it
// again, allocating, on every request.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// handleWebhook is the pipeline of docs/how-it-works.md for one request:
// read → authenticate → map → publish → answer.
func (s *Server) handleWebhook(c echo.Context) error {
	rec := &record{endpoint: c.Param("endpoint"), start: s.now(), secret: -1}
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	defer s.logRequest(c, rec)
	ctx, span := s.tracing.start(c.Request(), rec.endpoint)
	provider := ""
	defer func() { endRequest(span, rec, provider) }()

	// One routing for the whole request: its endpoint and how its client's address is found
	// come from the same configuration, even while a reload swaps it.
	rt := s.routing.Load()
	rec.clientIP = rt.clientIP(c.Request())
	ep, ok := rt.endpoints[rec.endpoint]
	rec.known, rec.ep = ok, ep
	if !ok {
		return s.fail(c, rec, http.StatusNotFound, "unknown_endpoint", "unknown endpoint")
	}
	// Only POST carries events; another method is only ever a provider's handshake (Meta's and
	// Okta's GET challenges), answered below or refused 405.
	if c.Request().Method != http.MethodPost && ep.Provider.Handshake == nil {
		return s.notAllowed(c, rec)
	}
	provider = ep.Provider.Name
	// Before anything is read: a sender outside the endpoint's allow_from costs nothing more.
	if !ep.Allows(rec.clientIP) {
		rec.diagnosis = "the client address " + rec.clientIP + " is not in the endpoint's allow_from"
		return s.fail(c, rec, http.StatusForbidden, "ip_not_allowed", "client address not allowed")
	}

	// Read.
	body, held, err := readBody(c.Request(), s.maxBody, s.inflight)
	defer s.inflight.give(held) // held until the event is stored and answered
	switch {
	case errors.Is(err, errTooLarge):
		rec.diagnosis = fmt.Sprintf("the body is larger than %d bytes (http.max_body_bytes)", s.maxBody)
		return s.fail(c, rec, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body larger than %d bytes", s.maxBody))
	case errors.Is(err, errBusy):
		rec.err = err
		return s.unavailable(c, rec, ep, "inflight_bytes")
	case err != nil:
		rec.err = err
		rec.diagnosis = "the body could not be read: the request ended early or was not valid HTTP"
		return s.fail(c, rec, http.StatusBadRequest, "read_error", "could not read the body")
	}
	req := providers.Request{Method: c.Request().Method, URI: c.Request().RequestURI, Header: c.Request().Header, Body: body, Received: rec.start}
	if ep.Provider.Handshake != nil {
		if answer, ok := ep.Provider.Handshake(req, ep.Credentials); ok {
			rec.reason = "handshake"
			if answer.Status >= 400 {
				// A handshake its sender signs, badly signed: refused like any other request.
				rec.body = body
				rec.diagnosis = "a handshake (" + req.Method + ") whose proof does not match"
				s.reject(rec, "handshake_refused")
			}
			return s.answer(c, rec, answer)
		}
		if req.Method != http.MethodPost {
			return s.notAllowed(c, rec)
		}
	}

	// Authenticate.
	_, verifySpan := s.tracing.child(ctx, "verify", trace.SpanKindInternal)
	verified, err := ep.Provider.Verify(req, ep.Credentials)
	endStep(verifySpan, err)
	if err != nil {
		rec.err = err
		rec.body = body
		rec.diagnosis = diagnose(err, req.Header)
		s.reject(rec, rejectionReason(err))
		return s.answer(c, rec, ep.Rejection)
	}

	rec.unsigned = verified.Unsigned()
	rec.secret = verified.SecretIndex()

	// Map: an authentic body that cannot be mapped is published as unmapped, not dropped.
	mapped, err := verified.Map()
	if err == nil {
		err = ep.checkType(mapped.Type)
	}
	if err != nil {
		rec.err = err
		rec.reason = "unmapped"
		// An id the provider's headers give still identifies it, so its retries stay one event.
		mapped = providers.Event{Type: unmappedType, ID: mapped.ID, Time: mapped.Time, IDUnsigned: mapped.IDUnsigned}
	}
	// Unsigned stays apart: nothing vouches for it, so it never reaches a responder, and it may
	// carry only the types the endpoint lists.
	if rec.unsigned {
		switch {
		case rec.reason != "unmapped" && ep.Asks(mapped.Type):
			rec.body = body
			rec.diagnosis = "a request without proof may not ask a question (" + strconv.Quote(mapped.Type) + "): sign it"
			s.reject(rec, "unsigned_question")
			return s.answer(c, rec, ep.Rejection)
		case !ep.AllowsUnsigned(mapped.Type):
			rec.body = body
			rec.diagnosis = "a request without proof may not carry the type " + strconv.Quote(mapped.Type) + " (the endpoint's unsigned_types)"
			s.reject(rec, "unsigned_type")
			return s.answer(c, rec, ep.Rejection)
		}
	}
	// The publish span covers encoding and publishing until the PubAck; with tracing on, the
	// message carries its context, so a consumer's span is its child.
	publishCtx, publishSpan := s.tracing.child(ctx, "publish", trace.SpanKindProducer)
	traceparent, tracestate := headerValue(c.Request().Header, "Traceparent"), headerValue(c.Request().Header, "Tracestate")
	if publishSpan != nil {
		traceparent, tracestate = s.tracing.traceparent(publishCtx)
	}
	ev := newEvent(eventInput{
		endpoint:    ep,
		verified:    verified,
		mapped:      mapped,
		received:    rec.start,
		traceparent: traceparent,
		tracestate:  tracestate,
	})
	rec.eventID, rec.eventType = ev.ID(), ev.Type()
	msg, err := cloudevents.Encode(ep.Subject(mapped.Type), ev)
	if err != nil {
		endStep(publishSpan, err)
		rec.err = err
		return s.fail(c, rec, http.StatusInternalServerError, "encode", "could not encode the event")
	}
	if tp, ok := ev.Extensions()["traceparent"].(string); ok {
		// Also as the plain W3C header, for NATS-side tracing that does not read ce-traceparent.
		msg.Header["traceparent"] = []string{tp}
	}

	// Publish, and wait for this event's own PubAck before answering 2xx.
	published := s.now()
	ack, err := s.publisher.Publish(c.Request().Context(), msg, msgID(ep, ev, mapped, verified))
	if publishSpan != nil {
		publishSpan.SetAttributes(attribute.String("messaging.destination.name", msg.Subject), attribute.Bool("bridge.duplicate", err == nil && ack.Duplicate))
	}
	endStep(publishSpan, err)
	if err != nil {
		rec.err = err
		return s.unavailable(c, rec, ep, "nats_unavailable")
	}
	ep.metrics.publish.Observe(s.now().Sub(published).Seconds())
	if rec.reason == "unmapped" {
		ep.metrics.unmapped.Inc()
	}
	if ack.Duplicate {
		rec.duplicate = true
		ep.metrics.duplicates.Inc()
	}

	// Answer: the provider's success, or the responder's answer to a question.
	if rec.reason != "unmapped" && ep.Asks(mapped.Type) {
		_, replySpan := s.tracing.child(ctx, "reply", trace.SpanKindClient)
		defer func() { endStep(replySpan, rec.err) }()
		return s.ask(c, rec, ep, mapped.Type, msg)
	}
	return s.answer(c, rec, ep.Success)
}

// ask carries a question to its responder over NATS request-reply and its answer back
// (docs/providers/, the NATS services convention).
func (s *Server) ask(c echo.Context, rec *record, ep *Endpoint, eventType string, msg *nats.Msg) error {
	reply, err := s.publisher.Ask(c.Request().Context(), ep.ReplySubject(eventType), msg, ep.ReplyTimeout)
	switch {
	case errors.Is(err, ErrNoResponders):
		ep.metrics.replies["no_responders"].Inc()
		rec.err = err
		return s.noAnswer(c, rec, "no_responders")
	case errors.Is(err, ErrNoReply):
		ep.metrics.replies["timeout"].Inc()
		rec.err = err
		return s.noAnswer(c, rec, "reply_timeout")
	case err != nil:
		ep.metrics.replies["error"].Inc()
		rec.err = err
		return s.noAnswer(c, rec, "reply_error")
	}
	answer := replyAnswer(reply)
	outcome := "answered"
	if answer.Status != http.StatusOK {
		outcome = "denied"
		rec.reason = "denied"
	}
	ep.metrics.replies[outcome].Inc()
	return s.answer(c, rec, answer)
}

// serviceErrorCodeHeader is what nats.go/micro's Request.Error sets.
const serviceErrorCodeHeader = "Nats-Service-Error-Code"

// replyAnswer turns a responder's reply into the HTTP answer: a plain reply is 200 with its body
// and Content-Type; Nats-Service-Error-Code is the status (400–599, anything else 502).
func replyAnswer(reply *nats.Msg) providers.Answer {
	answer := providers.Answer{Status: http.StatusOK, Body: reply.Data, ContentType: replyHeader(reply.Header, "Content-Type")}
	if code := replyHeader(reply.Header, serviceErrorCodeHeader); code != "" {
		answer.Status = http.StatusBadGateway
		if n, err := strconv.Atoi(code); err == nil && n >= 400 && n <= 599 {
			answer.Status = n
		}
	}
	if answer.ContentType == "" && len(answer.Body) > 0 {
		answer.ContentType = "text/plain; charset=utf-8"
		if json.Valid(answer.Body) {
			answer.ContentType = "application/json"
		}
	}
	return answer
}

// replyHeader looks a reply's header up case-insensitively: NATS header names are meant to be,
// but nats.Header.Get is an exact lookup, and a responder may write "content-type" (as our own
// CloudEvents headers are written) or "nats-service-error-code".
func replyHeader(h nats.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// diagnose says why authentication failed, in a sentence an integrator can act on: the
// provider's diagnosis, with the similar headers the request did carry when one was missing.
func diagnose(err error, h http.Header) string {
	d := providers.Diagnosis(err)
	if missing := providers.MissingHeader(err); missing != "" {
		if d == "" {
			d = "the header " + missing + " is missing"
		}
		if similar := similarHeaders(h, missing); len(similar) > 0 {
			d += "; similar headers present: " + strings.Join(similar, ", ")
		}
	}
	if d == "" {
		d = "the proof does not match: " + rejectionReason(err)
	}
	return d
}

// rejectionReason names why authentication failed, for logs and metrics.
func rejectionReason(err error) string {
	switch {
	case errors.Is(err, providers.ErrMissingProof):
		return "missing_proof"
	case errors.Is(err, providers.ErrMalformedProof):
		return "malformed_proof"
	case errors.Is(err, providers.ErrBadCredentials):
		return "bad_credentials"
	case errors.Is(err, providers.ErrStaleTimestamp):
		return "stale_timestamp"
	default:
		return "bad_signature"
	}
}

// record is what the request log line says about one request.
type record struct {
	endpoint  string
	ep        *Endpoint // nil: not a configured endpoint
	known     bool      // the endpoint is configured
	clientIP  string    // as the request's routing finds it (trusted proxies)
	start     time.Time
	status    int
	reason    string
	eventID   string
	eventType string
	duplicate bool
	unsigned  bool
	secret    int    // the index of the endpoint's secret that matched; -1: none
	diagnosis string // why it was refused, for the rejections stream
	rejected  bool   // refused: kept in the rejections stream
	body      []byte // what of the body the rejections stream may keep
	retry     bool   // answered the provider's retry answer: the event was not stored
	err       error
}

func (s *Server) reject(rec *record, reason string) {
	rec.reason = reason
	rec.rejected = true
	if rec.ep != nil {
		rec.ep.metrics.rejection(reason)
	}
}

// answer writes a provider's (or a responder's) answer.
func (s *Server) answer(c echo.Context, rec *record, a providers.Answer) error {
	rec.status = a.Status
	for name, values := range a.Header {
		for _, v := range values {
			c.Response().Header().Add(name, v)
		}
	}
	if len(a.Body) == 0 {
		return c.NoContent(a.Status)
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	return c.Blob(a.Status, ct, a.Body)
}

// notAllowed answers a method other than POST that is no handshake.
func (s *Server) notAllowed(c echo.Context, rec *record) error {
	c.Response().Header().Set("Allow", http.MethodPost)
	return s.fail(c, rec, http.StatusMethodNotAllowed, "method", "only POST is allowed")
}

// fail answers the bridge's own errors (not the provider's) with a small JSON body.
func (s *Server) fail(c echo.Context, rec *record, status int, reason, message string) error {
	if status < 500 && rec.known {
		s.reject(rec, reason)
	} else {
		rec.reason = reason
	}
	body, _ := json.Marshal(map[string]string{"error": message})
	return s.answer(c, rec, providers.Answer{Status: status, ContentType: "application/json", Body: body})
}

// noAnswer answers a question that got no reply: 503 with Retry-After, whatever the provider.
// The event itself is stored (it was published before it was asked), so this is not the
// could-not-store retry answer; the sender is asked to try again for its answer.
func (s *Server) noAnswer(c echo.Context, rec *record, reason string) error {
	rec.reason = reason
	rec.retry = true
	return s.answer(c, rec, providers.Answer{
		Status: http.StatusServiceUnavailable, ContentType: "application/json",
		Body:   []byte(`{"error":"no answer to the question, retry later"}`),
		Header: http.Header{"Retry-After": {providers.RetryAfterSeconds}},
	})
}

// unavailable gives the provider its retry answer (503, or what its documentation retries on,
// with Retry-After), so it keeps the event and sends it again.
func (s *Server) unavailable(c echo.Context, rec *record, ep *Endpoint, reason string) error {
	rec.reason = reason
	rec.retry = true
	s.metrics.retryAnswers.WithLabelValues(ep.ID, reason).Inc()
	return s.answer(c, rec, ep.Provider.Retry)
}

// logRequest writes the one log line of a request: never secrets, signatures or bodies.
func (s *Server) logRequest(c echo.Context, rec *record) {
	if rec.ep != nil {
		rec.ep.metrics.request(rec.status)
	} else {
		// Unknown endpoint names stay out of metric labels (an attacker could otherwise create
		// unbounded label values).
		s.metrics.requests.WithLabelValues("unknown", strconv.Itoa(rec.status)).Inc()
	}
	if rec.rejected && rec.ep != nil && s.rejections != nil {
		// After the answer was written, and never waiting: it only queues.
		s.rejections.record(rejection{
			endpoint: rec.ep.ID, reason: rec.reason, diagnosis: rec.diagnosis, remote: rec.clientIP,
			received: rec.start, header: c.Request().Header, body: rec.body,
		})
	}
	if rec.secret >= 0 && rec.status < 300 && rec.ep != nil {
		rec.ep.metrics.secretMatch(rec.secret)
	}
	var suppressed uint64
	if rec.status >= 400 || rec.retry {
		ok, n := s.logSample.allow(s.now())
		if !ok {
			s.metrics.logSuppressed.Inc()
			return
		}
		suppressed = n
	}
	var e *zerolog.Event
	switch {
	case rec.status >= 500 || rec.retry:
		e = s.log.Error()
	case rec.status >= 400 || rec.reason == "unmapped":
		e = s.log.Warn()
	default:
		e = s.log.Info()
	}
	if e == nil {
		return
	}
	e.Str("endpoint", rec.endpoint).
		Int("status", rec.status).
		Str("request_id", c.Response().Header().Get(echo.HeaderXRequestID)).
		Str("remote_ip", rec.clientIP).
		Dur("latency_ms", s.now().Sub(rec.start))
	if rec.eventID != "" {
		e.Str("event_id", rec.eventID).Str("type", rec.eventType)
	}
	if tp := headerValue(c.Request().Header, "Traceparent"); validTraceparent(tp) {
		e.Str("traceparent", tp)
	}
	if rec.reason != "" {
		e.Str("reason", rec.reason)
	}
	if rec.duplicate {
		e.Bool("duplicate", true)
	}
	if rec.unsigned {
		e.Bool("unsigned", true)
	}
	if rec.secret >= 0 && rec.status < 300 {
		e.Int("secret", rec.secret) // which configured secret matched: an operator rotating one sees when the old can go
	}
	if rec.retry {
		e.Bool("retry", true)
	}
	if rec.err != nil {
		e.AnErr("error", rec.err)
	}
	if suppressed > 0 {
		e.Uint64("suppressed", suppressed) // lines of refused requests left out before this one
	}
	e.Msg("webhook")
}
