package twiliotest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// What the callee does, the first step of a script line.
const (
	outcomeNoAnswer = "no answer"
	outcomeBusy     = "busy"
	outcomeFailed   = "failed"
	outcomeMachine  = "machine"
	outcomeRing     = "ring"
	outcomeAnswer   = "answer"
)

var (
	e164Pattern   = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	digitsPattern = regexp.MustCompile(`^[0-9*#]+$`)
)

// expectation is one script line: the next call to a number (or to any
// number) and what happens to it.
type expectation struct {
	line    string
	to      string // empty: any number
	outcome string
	presses []string
	hangUp  bool
	call    string // the SID of the call that took it
	done    bool   // played out to its final status callback
}

// Expect adds expected calls, one per line:
//
//	call +819011112222: no answer
//	call +819011112222: answer, press 9, press 1
//	answer, press 2            (the next call to any number)
//	machine | busy | failed | ring | answer, hang up
//
// "answer" is followed by the keys pressed, each answering the <Gather> the
// previous TwiML asked with; "ring" keeps ringing until Press or End. Blank
// lines and lines starting with # are skipped. A bad line adds nothing.
func (s *Server) Expect(script string) error {
	var (
		parsed []*expectation
		errs   []error
	)
	for i, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseLine(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d %q: %w", i+1, line, err))
			continue
		}
		parsed = append(parsed, e)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("twiliotest: %w", err)
	}
	if len(parsed) == 0 {
		return errors.New("twiliotest: the script expects no call")
	}
	s.mu.Lock()
	s.expects = append(s.expects, parsed...)
	s.notify()
	s.mu.Unlock()
	return nil
}

func parseLine(line string) (*expectation, error) {
	e := &expectation{line: line}
	rest := line
	if head, ok := cutPrefixFold(rest, "call "); ok {
		number, tail, found := strings.Cut(head, ":")
		if !found {
			return nil, errors.New(`"call <number>" needs a ":" and what happens, as in "call +819011112222: answer, press 1"`)
		}
		number = strings.TrimSpace(number)
		if !e164Pattern.MatchString(number) {
			return nil, fmt.Errorf("%q is not an E.164 number like +819011112222", number)
		}
		e.to, rest = number, tail
	}
	steps := strings.Split(rest, ",")
	for i, st := range steps {
		steps[i] = strings.Join(strings.Fields(strings.ToLower(st)), " ")
	}
	switch first := steps[0]; first {
	case "no answer", "no-answer":
		e.outcome = outcomeNoAnswer
	case outcomeBusy, outcomeFailed, outcomeMachine, outcomeRing, outcomeAnswer:
		e.outcome = first
	case "":
		return nil, errors.New("say what the callee does: answer, no answer, busy, failed, machine or ring")
	default:
		return nil, fmt.Errorf("unknown outcome %q: want answer, no answer, busy, failed, machine or ring", first)
	}
	if e.outcome != outcomeAnswer && len(steps) > 1 {
		return nil, fmt.Errorf("%q takes no further steps; only answer does", e.outcome)
	}
	for _, st := range steps[1:] {
		switch {
		case st == "hang up" || st == "hangup":
			if e.hangUp {
				return nil, errors.New("hangs up twice")
			}
			e.hangUp = true
		case st == "press":
			return nil, errors.New(`"press" needs the keys, as in "press 1"`)
		case strings.HasPrefix(st, "press "):
			if e.hangUp {
				return nil, errors.New("presses a key after hanging up")
			}
			keys := strings.TrimSpace(strings.TrimPrefix(st, "press "))
			if !digitsPattern.MatchString(keys) {
				return nil, fmt.Errorf("%q: keys are 0-9, * and #", keys)
			}
			e.presses = append(e.presses, keys)
		case st == "":
			return nil, errors.New("an empty step between commas")
		default:
			return nil, fmt.Errorf("unknown step %q: want press <keys> or hang up", st)
		}
	}
	return e, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// takeExpectation gives a new call to `to` the first expectation still free
// for that number, else the first one for any number; s.mu is held.
func (s *Server) takeExpectation(to string) *expectation {
	var anyNumber *expectation
	for _, e := range s.expects {
		if e.call != "" {
			continue
		}
		if e.to == to {
			return e
		}
		if e.to == "" && anyNumber == nil {
			anyNumber = e
		}
	}
	return anyNumber
}
