package commands

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

// AnyVerb in Rule.Verbs names every verb but help.
const AnyVerb = "*"

// Rule says who may run some verbs: the contacts named and the members of
// the platform groups named.
type Rule struct {
	Verbs    []string // verbs or aliases of the command language, or AnyVerb
	Contacts []string // contact ids, matched against bot.Actor.ID
	// Groups are platform groups as "<platform>:<id>": "slack:S0ONCALL" (a
	// Slack user group), "discord:1234567890" (a Discord role).
	Groups []string
}

// Authorizer decides who may run which verb. A verb no rule names is open
// to anyone who can run commands at all; a verb that rules name is allowed
// to whoever any of those rules allows. Help is always allowed. A nil
// *Authorizer allows everything.
type Authorizer struct {
	rules []Rule // verbs canonical
}

// NewAuthorizer checks the rules and keeps a copy of them. A rule without
// verbs, without anyone allowed, with an unknown verb or a malformed group
// is an error: configuration validation reports these with their paths
// first, so this is the last line against a rule that would silently lock
// everyone out or let everyone in.
func NewAuthorizer(rules []Rule) (*Authorizer, error) {
	a := &Authorizer{rules: make([]Rule, 0, len(rules))}
	for i, r := range rules {
		if len(r.Verbs) == 0 {
			return nil, fmt.Errorf("authorization rule %d: names no command", i)
		}
		if len(r.Contacts) == 0 && len(r.Groups) == 0 {
			return nil, fmt.Errorf("authorization rule %d: allows nobody", i)
		}
		verbs := make([]string, 0, len(r.Verbs))
		for _, w := range r.Verbs {
			v, err := AuthorizableVerb(w)
			if err != nil {
				return nil, fmt.Errorf("authorization rule %d: %w", i, err)
			}
			verbs = append(verbs, v)
		}
		if slices.Contains(r.Contacts, "") {
			return nil, fmt.Errorf("authorization rule %d: an empty contact id", i)
		}
		for _, g := range r.Groups {
			if err := CheckGroup(g); err != nil {
				return nil, fmt.Errorf("authorization rule %d: %w", i, err)
			}
		}
		a.rules = append(a.rules, Rule{Verbs: verbs, Contacts: slices.Clone(r.Contacts), Groups: slices.Clone(r.Groups)})
	}
	return a, nil
}

// AuthorizableVerb returns the verb a rule's word names: a verb, an alias
// (close is resolve) or AnyVerb. Help cannot be restricted.
func AuthorizableVerb(word string) (string, error) {
	if word == AnyVerb {
		return AnyVerb, nil
	}
	v, ok := lookupVerb(word)
	if !ok {
		return "", fmt.Errorf("unknown command %q (%s or %q)", word, strings.Join(restrictableVerbs(), ", "), AnyVerb)
	}
	if v == VerbHelp {
		return "", fmt.Errorf("help is always allowed; leave it out")
	}
	return v, nil
}

// restrictableVerbs are the verbs a rule may name, in help order.
func restrictableVerbs() []string {
	return slices.DeleteFunc(slices.Clone(verbOrder), func(v string) bool { return v == VerbHelp })
}

// groupPlatforms are the platforms whose groups a rule may name.
var groupPlatforms = []string{"slack", "discord"}

// CheckGroup checks a platform group as a Rule names it: "slack:" and a
// Slack user group id (S0ONCALL), or "discord:" and a role id (digits).
func CheckGroup(g string) error {
	platform, id, ok := strings.Cut(g, ":")
	if !ok || !slices.Contains(groupPlatforms, platform) {
		return fmt.Errorf("%q is not a group: write slack:<user group id> or discord:<role id>", g)
	}
	switch {
	case platform == "slack" && (len(id) < 2 || id[0] != 'S' || strings.IndexFunc(id, notUpperIDRune) >= 0):
		return fmt.Errorf("%q: a Slack user group id is S followed by capital letters and digits, like slack:S0ONCALL", g)
	case platform == "discord" && (id == "" || strings.Trim(id, "0123456789") != ""):
		return fmt.Errorf("%q: a Discord role id is digits only, like discord:1234567890", g)
	}
	return nil
}

func notUpperIDRune(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') }

// Allowed says whether by may run verb and, when not, why, in the locale's
// language. groups lists by's platform groups ("slack:S0ONCALL"); it is
// called only when a rule with groups decides, at most once, and may be nil
// when the platform has none. A failed lookup refuses: an outage of the
// platform's API must not open restricted commands to everyone.
func (a *Authorizer) Allowed(ctx context.Context, verb string, by bot.Actor, locale string, groups func(ctx context.Context) ([]string, error)) (bool, string) {
	if a == nil || verb == VerbHelp {
		return true, ""
	}
	var contacts, groupsAllowed []string
	named := false
	for _, r := range a.rules {
		if !slices.Contains(r.Verbs, verb) && !slices.Contains(r.Verbs, AnyVerb) {
			continue
		}
		named = true
		for _, c := range r.Contacts {
			if !slices.Contains(contacts, c) {
				contacts = append(contacts, c)
			}
		}
		for _, g := range r.Groups {
			if !slices.Contains(groupsAllowed, g) {
				groupsAllowed = append(groupsAllowed, g)
			}
		}
	}
	if !named {
		return true, ""
	}
	ja := isJapanese(locale)
	if by.ID != "" && slices.Contains(contacts, by.ID) {
		return true, ""
	}
	if len(groupsAllowed) > 0 && groups != nil {
		mine, err := groups(ctx)
		if err != nil {
			slog.WarnContext(ctx, "authorization: group lookup failed", "verb", verb, "platform", by.Source, "actor", by.ID, "err", err)
			return false, pick(ja,
				"Could not look up your groups, so "+verb+" is refused for now; try again. ",
				"所属グループを確認できなかったため、今は "+verb+" を実行できません。もう一度お試しください。") +
				onlyWho(verb, contacts, groupsAllowed, ja)
		}
		if slices.ContainsFunc(mine, func(g string) bool { return slices.Contains(groupsAllowed, g) }) {
			return true, ""
		}
	}
	return false, onlyWho(verb, contacts, groupsAllowed, ja)
}

// onlyWho is the refusal: "Only tanaka, suzuki or members of slack:S0ONCALL
// may resolve incidents here."
func onlyWho(verb string, contacts, groups []string, ja bool) string {
	action := verbActions[verb]
	if ja {
		who := slices.Clone(contacts)
		for _, g := range groups {
			who = append(who, g+" のメンバー")
		}
		list := strings.Join(who, "、")
		if last := list[len(list)-1]; last < utf8.RuneSelf {
			list += " " // "tanaka だけ", but "のメンバーだけ"
		}
		return "ここで" + action.ja + "ができるのは " + list + "だけです。"
	}
	who := slices.Clone(contacts)
	for _, g := range groups {
		who = append(who, "members of "+g)
	}
	list := who[0]
	if n := len(who); n > 1 {
		list = strings.Join(who[:n-1], ", ") + " or " + who[n-1]
	}
	return "Only " + list + " may " + action.en + " here."
}

// verbActions is what running a verb does, as a refusal names it.
var verbActions = map[string]struct{ en, ja string }{
	VerbAck:        {"acknowledge incidents", "インシデントの確認"},
	VerbOwn:        {"take ownership of incidents", "インシデントの担当"},
	VerbAssign:     {"assign incidents", "担当者の指定"},
	VerbSev:        {"set the severity of incidents", "重大度の設定"},
	VerbClassify:   {"classify incidents", "インシデントの分類"},
	VerbStatus:     {"set the status of incidents", "対応状況の記録"},
	VerbNote:       {"add notes to incidents", "メモの追加"},
	VerbEscalate:   {"escalate incidents", "電話でのエスカレーション"},
	VerbResolve:    {"resolve incidents", "インシデントの解決"},
	VerbPostmortem: {"write postmortems", "振り返りの記録"},
	VerbNew:        {"declare incidents", "インシデントの起票"},
	VerbList:       {"list incidents", "インシデント一覧の表示"},
	VerbShow:       {"show incidents", "インシデントの表示"},
	VerbTimeline:   {"show incident timelines", "タイムラインの表示"},
	VerbOnCall:     {"see or change who is on call", "当番の確認と交代"},
}
