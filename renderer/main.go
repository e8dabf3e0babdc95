// Command harmonia-renderer renders Helm charts exactly as `helm template` does, many
// releases per process and several at once, so that Harmonia pays Helm's start-up once
// per pass instead of once per release.
//
// It reads one JSON request per line on stdin and writes one JSON response per line on
// stdout, in completion order (the id pairs them); docs/renderer.md is the protocol.
// Rendering goes through Helm's own packages, the way helm's pkg/cmd/template.go and
// install.go drive them for `helm template NAME CHART --namespace NS --kube-version V
// --api-versions A --include-crds --values -`; render.go mirrors that code path.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
)

func main() {
	parallel := flag.Int("parallel", runtime.GOMAXPROCS(0), "requests rendered at once")
	flag.Parse()
	// Helm's warnings (a deprecated chart, a CRD in a dry run) go to stderr as helm
	// prints them; stdout carries only responses.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := serve(os.Stdin, os.Stdout, max(*parallel, 1)); err != nil {
		fmt.Fprintf(os.Stderr, "harmonia-renderer: %v\n", err)
		os.Exit(1)
	}
}

// serve answers every request line of `in` on `out`, at most `parallel` at a time, and
// returns once `in` is closed and every answer is written.
func serve(in io.Reader, out io.Writer, parallel int) error {
	reader := bufio.NewReaderSize(in, 1<<20)
	var written sync.Mutex
	var running sync.WaitGroup
	slots := make(chan struct{}, parallel)
	respond := func(answer response) {
		line, err := json.Marshal(answer)
		if err != nil {
			line, _ = json.Marshal(response{ID: answer.ID, Error: err.Error()})
		}
		written.Lock()
		defer written.Unlock()
		_, _ = out.Write(append(line, '\n'))
	}
	for {
		line, readErr := reader.ReadBytes('\n')
		if len(line) > 0 {
			var ask request
			if err := json.Unmarshal(line, &ask); err != nil {
				respond(response{ID: ask.ID, Error: fmt.Sprintf("malformed request: %v", err)})
			} else {
				slots <- struct{}{}
				running.Add(1)
				go func() {
					defer running.Done()
					defer func() { <-slots }()
					respond(render(ask))
				}()
			}
		}
		if readErr == io.EOF {
			running.Wait()
			return nil
		}
		if readErr != nil {
			running.Wait()
			return readErr
		}
	}
}
