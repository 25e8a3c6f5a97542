package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hotline-dev/hotline/commands"
)

// ReadCommands lets the terminal act as a responder's chat: each line typed
// as "/incident ack INC-1" (or just "ack INC-1") runs as a chat command with
// the actor, locale, service and phone of base, and the reply is printed. It
// returns when in ends or ctx is done.
func (c *Chat) ReadCommands(ctx context.Context, in io.Reader, inc commands.Incidents, base commands.Invocation) {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case line, ok := <-lines:
			if !ok {
				return
			}
			text := strings.TrimSpace(line)
			text = strings.TrimSpace(strings.TrimPrefix(text, "/incident"))
			if text == "" {
				continue
			}
			inv := base
			inv.Text = text
			reply := commands.Run(ctx, inc, inv)
			c.mu.Lock()
			fmt.Fprintf(c.out, "→ %s\n", strings.ReplaceAll(reply.Text, "\n", "\n  "))
			c.mu.Unlock()
		}
	}
}
