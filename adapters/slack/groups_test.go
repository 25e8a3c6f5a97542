package slack

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/slack-go/slack"
)

type countingGroups struct {
	calls  int
	groups []slack.UserGroup
	err    error
}

func (c *countingGroups) GetUserGroupsContext(context.Context, ...slack.GetUserGroupsOption) ([]slack.UserGroup, error) {
	c.calls++
	return c.groups, c.err
}

func TestUserGroups(t *testing.T) {
	api := &countingGroups{groups: []slack.UserGroup{
		{ID: "S0ONCALL", Users: []string{"U1", "U2"}},
		{ID: "S0DBA", Users: []string{"U2"}},
	}}
	g := &userGroups{api: api}
	ctx := context.Background()
	if got, err := g.of(ctx, "U2"); err != nil || !slices.Equal(got, []string{"slack:S0ONCALL", "slack:S0DBA"}) {
		t.Errorf("U2's groups %v, %v", got, err)
	}
	if got, _ := g.of(ctx, "U9"); len(got) != 0 {
		t.Errorf("a user in no group: %v", got)
	}
	if api.calls != 1 {
		t.Errorf("%d usergroups.list calls within the TTL, want 1", api.calls)
	}
	failing := &userGroups{api: &countingGroups{err: errors.New("ratelimited")}}
	if _, err := failing.of(ctx, "U1"); err == nil {
		t.Errorf("a failed listing was not reported")
	}
}
