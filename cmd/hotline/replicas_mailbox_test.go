package main

// An IMAP mailbox that counts who has it selected, for the three-replica
// test: the poller must run on one replica at a time.

import (
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// watchedMailbox is the in-memory IMAP server, counting the sessions that
// have a mailbox selected: the poller's.
type watchedMailbox struct {
	addr string
	mu   sync.Mutex
	sel  int // sessions with a mailbox selected
	sels int // selects so far
}

func startWatchedMailbox(t *testing.T) *watchedMailbox {
	t.Helper()
	user := imapmemserver.NewUser("alerts", "pw")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	box := &watchedMailbox{}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &watchedSession{box: box, user: user}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true, // loopback only
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	box.addr = ln.Addr().String()
	return box
}

// counts reports the sessions with the mailbox selected now, and how many
// selects there have been.
func (b *watchedMailbox) counts() (selected, selects int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sel, b.sels
}

// append delivers a mail by IMAP APPEND, as the mail system does.
func (b *watchedMailbox) append(raw []byte) error {
	c, err := imapclient.DialInsecure(b.addr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login("alerts", "pw").Wait(); err != nil {
		return err
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	if _, err := cmd.Wait(); err != nil {
		return err
	}
	return c.Logout().Wait()
}

// watchedSession is imapmemserver's session for the one user, counted.
type watchedSession struct {
	*imapmemserver.UserSession // nil until login
	box                        *watchedMailbox
	user                       *imapmemserver.User
	selected                   bool
}

func (s *watchedSession) Login(username, password string) error {
	if username != "alerts" {
		return imapserver.ErrAuthFailed
	}
	if err := s.user.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(s.user)
	return nil
}

func (s *watchedSession) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	data, err := s.UserSession.Select(name, options)
	if err == nil {
		s.box.mu.Lock()
		if !s.selected {
			s.box.sel++
		}
		s.box.sels++
		s.box.mu.Unlock()
		s.selected = true
	}
	return data, err
}

func (s *watchedSession) Unselect() error {
	s.deselect()
	return s.UserSession.Unselect()
}

func (s *watchedSession) Close() error {
	s.deselect()
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

func (s *watchedSession) deselect() {
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	if s.selected {
		s.box.sel--
		s.selected = false
	}
}

var _ imapserver.Session = (*watchedSession)(nil)
