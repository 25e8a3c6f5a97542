package slack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// groupsTTL is how long the workspace's user groups are trusted before they
// are listed again: a rule about a group follows membership changes within
// a minute without a Web API call per command.
const groupsTTL = time.Minute

// GroupLister lists the workspace's user groups with their members;
// *slack.Client is one.
type GroupLister interface {
	GetUserGroupsContext(ctx context.Context, options ...slack.GetUserGroupsOption) ([]slack.UserGroup, error)
}

// userGroups answers which user groups a user is in, as the command
// language's authorization names them ("slack:S0ONCALL").
type userGroups struct {
	api GroupLister

	mu      sync.Mutex
	at      time.Time
	members map[string][]string // user id → "slack:<group id>"
}

func (g *userGroups) of(ctx context.Context, user string) ([]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members == nil || time.Since(g.at) > groupsTTL {
		groups, err := g.api.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
		if err != nil {
			return nil, fmt.Errorf("list slack user groups: %w", err)
		}
		members := map[string][]string{}
		for _, gr := range groups {
			for _, u := range gr.Users {
				members[u] = append(members[u], "slack:"+gr.ID)
			}
		}
		g.members, g.at = members, time.Now()
	}
	return g.members[user], nil
}
