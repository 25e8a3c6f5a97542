package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
)

// ReadCommands lets the terminal act as a responder's chat: each line typed
// as "/incident ack INC-1" (or just "ack INC-1") runs as a chat command by
// actor, and the reply is printed. It returns when in ends or ctx is done.
func (c *Chat) ReadCommands(ctx context.Context, in io.Reader, inc commands.Incidents, actor bot.Actor, locale string) {
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
			reply := commands.Run(ctx, inc, commands.Invocation{Text: text, Actor: actor, Locale: locale})
			c.mu.Lock()
			fmt.Fprintf(c.out, "→ %s\n", strings.ReplaceAll(reply.Text, "\n", "\n  "))
			c.mu.Unlock()
		}
	}
}
