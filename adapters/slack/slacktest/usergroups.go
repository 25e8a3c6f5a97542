package slacktest

import (
	"net/url"
	"slices"
)

// SetUserGroups replaces the workspace's user groups: group id (S…) → the
// ids of its members. usergroups.list answers with them.
func (s *Server) SetUserGroups(groups map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userGroups = map[string][]string{}
	for id, users := range groups {
		s.userGroups[id] = slices.Clone(users)
	}
}

// listUserGroups is usergroups.list; members only with include_users=true,
// as Slack does.
func (s *Server) listUserGroups(p url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.userGroups))
	for id := range s.userGroups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	groups := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		g := map[string]any{"id": id, "team_id": TeamID, "name": id, "handle": id, "user_count": len(s.userGroups[id])}
		if p.Get("include_users") == "true" {
			g["users"] = s.userGroups[id]
		}
		groups = append(groups, g)
	}
	return ok(map[string]any{"usergroups": groups})
}
