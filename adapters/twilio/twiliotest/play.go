package twiliotest

import (
	"fmt"
	"strings"
	"time"
)

// stageRank orders a call's statuses: a call only moves forward.
var stageRank = map[string]int{"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3}

func final(status string) bool {
	switch status {
	case "completed", "busy", "no-answer", "failed", "canceled":
		return true
	}
	return false
}

// play runs a call's script, one stage per Step.
func (s *Server) play(c *call) {
	defer s.wg.Done()
	outcome := outcomeRing // an unexpected call is left ringing
	var presses []string
	if c.exp != nil {
		outcome, presses = c.exp.outcome, c.exp.presses
	}
	// The create request is answered before anything happens to the call.
	if !s.pause(c) {
		return
	}
	if outcome == outcomeFailed {
		s.finish(c, "failed")
		return
	}
	if !s.stage(c, "initiated", "") || !s.pause(c) {
		return
	}
	if outcome == outcomeBusy {
		s.finish(c, "busy")
		return
	}
	if !s.stage(c, "ringing", "") {
		return
	}
	switch outcome {
	case outcomeRing:
		return // Press, End or the application's hang-up moves it on
	case outcomeNoAnswer:
		if s.pause(c) {
			s.finish(c, "no-answer")
		}
		return
	}
	if !s.pause(c) {
		return
	}
	answeredBy := "human"
	if outcome == outcomeMachine {
		answeredBy = "machine_start"
	}
	if !s.answer(c, answeredBy) {
		return
	}
	for i, keys := range presses {
		if !s.pause(c) {
			return
		}
		more, err := s.press(c, keys)
		if err != nil {
			break // recorded by press
		}
		if !more && i < len(presses)-1 {
			s.problem(fmt.Errorf("twiliotest: call %s: the reply to %s asks for no more keys, but the script still presses %s",
				c.rec.SID, keys, strings.Join(presses[i+1:], ", ")))
			break
		}
	}
	if s.pause(c) {
		s.finish(c, "completed")
	}
}

// pause waits one Step; false when the call ended or the server closes.
func (s *Server) pause(c *call) bool {
	t := time.NewTimer(s.opts.Step)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ended:
		return false
	case <-s.ctx.Done():
		return false
	}
}

// stage moves a live call forward to status and posts its status callback
// if the call asked for that event; false when the call is past status.
func (s *Server) stage(c *call, status, answeredBy string) bool {
	c.post.Lock()
	defer c.post.Unlock()
	s.mu.Lock()
	if final(c.rec.Status) || stageRank[c.rec.Status] >= stageRank[status] {
		s.mu.Unlock()
		return false
	}
	now := time.Now().UTC()
	c.rec.Status, c.updatedAt = status, now
	if status == "in-progress" {
		c.answeredAt = now
		if c.rec.MachineDetection != "" {
			c.rec.AnsweredBy = answeredBy
		}
	}
	target, method, params := s.statusCallback(c)
	s.notify()
	s.mu.Unlock()

	if status == "in-progress" && answeredBy != "" {
		s.logf("☎ %s answered by %s", mask(c.rec.To), answeredBy)
	} else {
		s.logf("☎ %s %s", status, mask(c.rec.To))
	}
	if target != "" {
		s.send(c, "status", method, target, params)
	}
	return true
}

// answer puts the call in progress and reads its TwiML for the first Gather.
func (s *Server) answer(c *call, answeredBy string) bool {
	if !s.stage(c, "in-progress", answeredBy) {
		return false
	}
	c.post.Lock()
	defer c.post.Unlock()
	s.mu.Lock()
	doc, src, method, params := c.rec.Twiml, c.rec.URL, c.rec.Method, s.callParams(c)
	s.mu.Unlock()
	if doc == "" && src != "" {
		cb := s.send(c, "twiml", method, src, params)
		if cb.StatusCode/100 != 2 {
			return true // recorded by send; the callee hears an application error
		}
		doc = cb.Body
	}
	g, err := firstGather(doc, src)
	if err != nil {
		s.problem(fmt.Errorf("twiliotest: call %s: %w", c.rec.SID, err))
		return true
	}
	s.mu.Lock()
	c.gather = g
	s.mu.Unlock()
	return true
}

// press sends keys to the Gather the call's TwiML is waiting on and reads
// the reply; more reports whether the reply asks for another key.
func (s *Server) press(c *call, keys string) (more bool, err error) {
	c.post.Lock()
	defer c.post.Unlock()
	s.mu.Lock()
	status, g, params := c.rec.Status, c.gather, s.callParams(c)
	s.mu.Unlock()
	fail := func(err error) (bool, error) {
		err = fmt.Errorf("twiliotest: call %s: %w", c.rec.SID, err)
		s.problem(err)
		return false, err
	}
	switch {
	case final(status):
		return fail(fmt.Errorf("pressed %s after the call ended (%s)", keys, status))
	case g == nil:
		return fail(fmt.Errorf("pressed %s but the TwiML asks for no key (no <Gather>)", keys))
	}
	if g.numDigits > 0 && len(keys) > g.numDigits {
		keys = keys[:g.numDigits] // Twilio stops listening after numDigits
	}
	params.Set("Digits", keys)
	params.Set("FinishedOnKey", "")
	params.Set("msg", "Gather End")
	s.logf("☎ %s pressed %s", mask(c.rec.To), keys)
	cb := s.send(c, "gather", g.method, g.action, params)
	if cb.StatusCode/100 != 2 {
		s.mu.Lock()
		c.gather = nil
		s.mu.Unlock()
		return false, fmt.Errorf("twiliotest: call %s: gather callback: %s", c.rec.SID, describe(cb))
	}
	next, err := firstGather(cb.Body, g.action)
	if err != nil {
		return fail(fmt.Errorf("reply to %s: %w", keys, err))
	}
	s.mu.Lock()
	c.gather = next
	s.mu.Unlock()
	return next != nil, nil
}

// finish ends a call the script played to its end.
func (s *Server) finish(c *call, status string) {
	s.mu.Lock()
	ended := s.endLocked(c, status)
	s.mu.Unlock()
	if ended {
		s.postEnd(c)
	}
}

// endLocked gives a live call its final status; s.mu is held.
func (s *Server) endLocked(c *call, status string) bool {
	if final(c.rec.Status) {
		return false
	}
	now := time.Now().UTC()
	c.rec.Status, c.updatedAt, c.endedAt = status, now, now
	c.gather = nil
	close(c.ended)
	s.notify()
	return true
}

// postEnd posts the final status callback, which Twilio always sends, and
// marks the call's expectation played out.
func (s *Server) postEnd(c *call) {
	c.post.Lock()
	defer c.post.Unlock()
	s.mu.Lock()
	status := c.rec.Status
	target, method, params := s.statusCallback(c)
	s.mu.Unlock()
	s.logf("☎ %s %s", status, mask(c.rec.To))
	if target != "" {
		s.send(c, "status", method, target, params)
	}
	s.mu.Lock()
	if c.exp != nil {
		c.exp.done = true
	}
	s.notify()
	s.mu.Unlock()
}

// Press answers a ringing call if need be, then presses keys into the Gather
// its TwiML is waiting on. A reply without another Gather ends the call.
func (s *Server) Press(sid, keys string) error {
	if !digitsPattern.MatchString(keys) {
		return fmt.Errorf("twiliotest: press %q: keys are 0-9, * and #", keys)
	}
	c, err := s.lookup(sid)
	if err != nil {
		return err
	}
	s.mu.Lock()
	status := c.rec.Status
	s.mu.Unlock()
	if final(status) {
		return fmt.Errorf("twiliotest: call %s has ended (%s)", sid, status)
	}
	if status != "in-progress" && !s.answer(c, "human") {
		return fmt.Errorf("twiliotest: call %s ended before it was answered", sid)
	}
	more, err := s.press(c, keys)
	if err != nil {
		return err
	}
	if !more {
		s.finish(c, "completed")
	}
	return nil
}

// End gives a call a final status (completed, busy, no-answer, failed or
// canceled) and posts its status callback.
func (s *Server) End(sid, status string) error {
	if !final(status) {
		return fmt.Errorf("twiliotest: end %s: %q is not a final status (completed, busy, no-answer, failed, canceled)", sid, status)
	}
	c, err := s.lookup(sid)
	if err != nil {
		return err
	}
	s.mu.Lock()
	ended := s.endLocked(c, status)
	s.mu.Unlock()
	if !ended {
		return fmt.Errorf("twiliotest: call %s has already ended", sid)
	}
	s.postEnd(c)
	return nil
}
