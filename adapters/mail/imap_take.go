// Taking one message: claiming a delivery attempt, delivering, remembering
// the key, then marking or moving the message (see Poller for the order).

package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/emersion/go-imap/v2"

	"github.com/hotline-dev/hotline/bot"
)

// handle delivers one message unless it was delivered before, then marks
// it. Errors from the store are imapDeferred; others are the connection's.
func (s *imapSession) handle(ctx context.Context, uid imap.UID) error {
	// The message in hand is finished even when ctx ends: a commit that
	// lands must be remembered.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), imapMessageWithin)
	defer cancel()
	log := s.log.With("uid", uid, "uidvalidity", s.uidValidity)
	if o, ok := s.owed[uid]; ok {
		if _, err := s.dedup.Remember(mctx, o.key); err != nil {
			return &imapDeferred{fmt.Errorf("remember uid %d: %w", uid, err)}
		}
		delete(s.owed, uid)
		return s.mark(uid, o.refused, log)
	}
	base := s.keyPrefix + strconv.FormatUint(uint64(s.uidValidity), 10) + ":" + strconv.FormatUint(uint64(uid), 10)
	key, deliver, err := s.attempt(mctx, base)
	if err != nil {
		return &imapDeferred{fmt.Errorf("uid %d: %w", uid, err)}
	}
	if !deliver {
		log.Info("imap mail delivered before, marking it only")
		return s.mark(uid, false, log)
	}
	raw, ok, err := s.fetch(uid)
	if err != nil {
		return err
	}
	if !ok {
		log.Info("imap mail gone before it was read")
		return nil
	}
	out, err := s.intake.DeliverMessage(mctx, raw)
	var invalid *bot.InvalidError
	refused := errors.Is(err, ErrNoRoute) || errors.As(err, &invalid)
	switch {
	case refused:
		// Trying again cannot help: flag it for a human and move on.
		log.Warn("imap mail refused", "err", err)
	case err != nil:
		return &imapDeferred{fmt.Errorf("deliver uid %d: %w", uid, err)}
	default:
		log.Info("imap mail delivered", "integration", out.Integration, "action", out.Result.Action,
			"incident", out.Result.Incident.Number)
	}
	if _, err := s.dedup.Remember(mctx, key); err != nil {
		s.owed[uid] = owedMark{key: key, refused: refused}
		return &imapDeferred{fmt.Errorf("remember uid %d: %w", uid, err)}
	}
	return s.mark(uid, refused, log)
}

// attempt claims the next delivery attempt of the message whose key is
// base. deliver: attempt n is ours, remember key after its commit. Else the
// message was delivered before (key is remembered).
func (s *imapSession) attempt(ctx context.Context, base string) (key string, deliver bool, err error) {
	keyOf := func(n int) string {
		if n == 0 {
			return base
		}
		return base + "#" + strconv.Itoa(n)
	}
	for n := 0; ; n++ {
		first, err := s.dedup.Remember(ctx, keyOf(n)+":claim")
		if err != nil {
			return "", false, fmt.Errorf("claim: %w", err)
		}
		if !first {
			continue
		}
		if n == 0 {
			return keyOf(0), true, nil
		}
		// Nobody but us claimed n, so attempt n-1's key was set by its
		// commit or not at all; checking sets it, and n is ours either way.
		first, err = s.dedup.Remember(ctx, keyOf(n-1))
		if err != nil {
			return "", false, fmt.Errorf("check attempt %d: %w", n-1, err)
		}
		if !first {
			return keyOf(n - 1), false, nil
		}
		return keyOf(n), true, nil
	}
}

// fetch reads the whole message without setting \Seen; ok is false when
// it is gone (expunged meanwhile).
func (s *imapSession) fetch(uid imap.UID) (raw []byte, ok bool, err error) {
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := s.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{
		UID:         true,
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, false, fmt.Errorf("imap %s: fetch uid %d: %w", s.addr, uid, err)
	}
	for _, m := range msgs {
		if m.UID != uid {
			continue
		}
		raw := m.FindBodySection(section)
		if raw == nil {
			// The client hands a command the first FETCH response with the
			// UID it asked for; an unsolicited flags update that comes
			// first leaves the body to nobody. Never deliver an empty
			// mail for it: try again.
			return nil, false, &imapDeferred{fmt.Errorf("fetch uid %d: the server sent no body", uid)}
		}
		return raw, true, nil
	}
	return nil, false, nil
}

// mark sets \Seen (and \Flagged on refused mail, which stays where a human
// looks) or moves the message. A server that refuses does not stop the
// poller: the message is handled, it only stays as it is.
func (s *imapSession) mark(uid imap.UID, refused bool, log *slog.Logger) error {
	var err error
	switch {
	case refused:
		err = s.store(uid, imap.FlagSeen, imap.FlagFlagged)
	case s.moveTo != "":
		err = s.move(uid)
	default:
		err = s.store(uid, imap.FlagSeen)
	}
	var refusal *imap.Error
	if errors.As(err, &refusal) {
		log.Error("imap server refused to mark handled mail", "err", err)
		s.unmarkable[uid] = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("imap %s: mark uid %d: %w", s.addr, uid, err)
	}
	return nil
}

func (s *imapSession) store(uid imap.UID, flags ...imap.Flag) error {
	return s.c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
}

// move moves the message to moveTo, creating it when the server asks for
// it (TRYCREATE).
func (s *imapSession) move(uid imap.UID) error {
	err := s.moveOnce(uid)
	var refusal *imap.Error
	if !errors.As(err, &refusal) || refusal.Code != imap.ResponseCodeTryCreate {
		return err
	}
	if err := s.c.Create(s.moveTo, nil).Wait(); err != nil {
		return err
	}
	s.log.Info("imap mailbox created", "created", s.moveTo)
	return s.moveOnce(uid)
}

func (s *imapSession) moveOnce(uid imap.UID) error {
	set := imap.UIDSetNum(uid)
	caps := s.c.Caps()
	if caps.Has(imap.CapMove) {
		_, err := s.c.Move(set, s.moveTo).Wait()
		return err
	}
	// Client.Move has a fallback for servers without MOVE, but it sends the
	// STORE \Deleted and EXPUNGE without waiting for the COPY: a COPY that
	// fails (no such mailbox, over quota) loses the message.
	if _, err := s.c.Copy(set, s.moveTo).Wait(); err != nil {
		return err
	}
	if err := s.store(uid, imap.FlagDeleted); err != nil {
		return err
	}
	if caps.Has(imap.CapUIDPlus) {
		return s.c.UIDExpunge(set).Close()
	}
	// Without UIDPLUS, EXPUNGE also removes what a human marked \Deleted,
	// which is what that human asked for.
	return s.c.Expunge().Close()
}
