package main

import (
	"os"
	"strings"
	"testing"
)

// The image is built with the command CI runs and keeps the promises the
// chart and the README make: non-root, the data directory, both ports.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"RUN make build ",               // the command .ci/run runs too
		"FROM gcr.io/distroless/static", // a static binary needs no libc
		"USER 65532:65532",              // non-root
		"WORKDIR /var/lib/hotline",      // sqlite:hotline.db lands in the data directory
		`VOLUME ["/var/lib/hotline"]`,   // ... which is kept
		"EXPOSE 8080 2525",              // HTTP and SMTP
		`ENTRYPOINT ["/usr/local/bin/hotline"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/hotline ./cmd/hotline") {
		t.Errorf("make build no longer builds the static, stamped binary the image copies")
	}
}
