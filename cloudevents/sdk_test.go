package cloudevents_test

import (
	"context"
	"testing"
	"time"

	cenats "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/cloudevents"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// TestSDKReaderDecodesPublishedEvent is docs/how-it-works.md's promise: a consumer using the CloudEvents
// Go SDK's reader (protocol/nats_jetstream/v2: NewMessage + binding.ToEvent) decodes what the
// bridge stores in JetStream without custom code. That reader matches header names exactly and
// does not percent-decode, so values needing escapes reach it still encoded; our Decode
// recovers them.
func TestSDKReaderDecodesPublishedEvent(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*event.Event)
		wantSDK func(*event.Event) // changes the published event to what the SDK reads
	}{
		{
			name:    "bridge event, nothing to escape",
			modify:  func(*event.Event) {},
			wantSDK: func(*event.Event) {},
		},
		{
			name: "dataschema and tracestate",
			modify: func(e *event.Event) {
				e.SetDataSchema("https://aghanim.com/schemas/player.update.json")
				e.SetExtension("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
			},
			wantSDK: func(*event.Event) {},
		},
		{
			name: "values needing escapes stay encoded for the SDK",
			modify: func(e *event.Event) {
				e.SetSubject(`José "J" 100%`)
				e.SetDataContentType("application/json; charset=utf-8")
				e.SetExtension("note", "über alles")
			},
			wantSDK: func(e *event.Event) {
				e.SetSubject("Jos%C3%A9%20%22J%22%20100%25")
				e.SetDataContentType("application/json;%20charset=utf-8")
				e.SetExtension("note", "%C3%BCber%20alles")
			},
		},
	}

	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     "WEBHOOKS",
		Subjects: []string{"webhooks.>"},
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			published := aghanimEvent(t)
			tt.modify(published)
			msg, err := cloudevents.Encode(natsSubject, published)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID("aghanim:"+published.ID()+":"+tt.name))
			if err != nil {
				t.Fatalf("publish: %v", err)
			}

			// Read it back as a consumer does: from the stream, through a consumer.
			cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
				DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
				OptStartSeq:   ack.Sequence,
			})
			if err != nil {
				t.Fatal(err)
			}
			jm, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			stored := &nats.Msg{Subject: jm.Subject(), Header: jm.Headers(), Data: jm.Data()}

			sdkMsg := cenats.NewMessage(stored)
			if enc := sdkMsg.ReadEncoding(); enc != binding.EncodingBinary {
				t.Fatalf("SDK reads encoding %v, want binary", enc)
			}
			// Read repeatedly: the reader takes headers in map order, so a value carried twice
			// differently would show up as a difference between reads.
			for range 20 {
				bySDK, err := binding.ToEvent(ctx, sdkMsg)
				if err != nil {
					t.Fatalf("SDK binding.ToEvent: %v", err)
				}
				if err := bySDK.Validate(); err != nil {
					t.Errorf("SDK's event does not validate: %v", err)
				}
				wantSDK := published.Clone()
				tt.wantSDK(&wantSDK)
				for _, d := range diffEvents(&wantSDK, bySDK) {
					t.Errorf("SDK reader: %s", d)
				}
			}

			ours, err := cloudevents.Decode(stored)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			for _, d := range diffEvents(published, ours) {
				t.Errorf("Decode: %s", d)
			}
		})
	}
}
