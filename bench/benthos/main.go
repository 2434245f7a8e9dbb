// Command benthos is the benchmark's peer: Benthos v4.27 (MIT, the last release before it became
// Redpanda Connect) built with only the components the job needs — HTTP in, Bloblang, NATS
// JetStream out, Prometheus metrics — doing what the bridge does for Aghanim webhooks
// (benthos.yaml beside this file). scripts/benchmarks.sh builds it and runs it beside the bridge.
// It lives in a module of its own so that the bridge does not depend on Benthos.
package main

import (
	"context"

	"github.com/benthosdev/benthos/v4/public/service"

	_ "github.com/benthosdev/benthos/v4/public/components/io"
	_ "github.com/benthosdev/benthos/v4/public/components/nats"
	_ "github.com/benthosdev/benthos/v4/public/components/prometheus"
	_ "github.com/benthosdev/benthos/v4/public/components/pure"
)

func main() {
	service.RunCLI(context.Background())
}
