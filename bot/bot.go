package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Service is a monitored system as Bot needs to know it: where its incidents
// are posted and what severity its alerts get when they name none.
type Service struct {
	ID       string
	Name     string
	Severity Severity          // default for alerts that name none
	Channels map[string]string // platform → channel id
	// KnowledgeBase is where postmortems are posted: platform → channel id.
	KnowledgeBase map[string]string
}

// Hooks let the composition root observe the domain (metrics) without bot
// importing a metrics library. Nil hooks are skipped.
type Hooks struct {
	IncidentOpened func(inc Incident)
	// IngestCommitted reports, per alert, how long it took from receipt to
	// the commit that enqueued its follow-up jobs.
	IngestCommitted func(wait time.Duration)
	// JobDone reports a job run: how long it waited past its due time, how
	// long it ran, and its error.
	JobDone func(kind string, wait, run time.Duration, err error)
	// ChatPostFailed reports a root message or update a chat platform did
	// not take (the job retries it).
	ChatPostFailed func(platform string)
}

// Config is what New needs.
type Config struct {
	Store    Store
	Clock    Clock
	Logger   *slog.Logger
	Services []Service
	Chats    []Chat
	// Escalator is the phone fallback; nil: nobody is ever called.
	Escalator Escalator
	// Mailer sends the mail jobs; nil: mail jobs fail.
	Mailer Mailer
	Hooks  Hooks
	// Committers is how many ingest transactions may run at once; alerts of
	// one fingerprint always go through the same one. Default 1.
	Committers int
	// MaxBatch caps the alerts committed in one ingest transaction. Default 256.
	MaxBatch int
	// BatchLinger is how long a committer under load waits for more alerts
	// before it commits a batch. Zero: it never waits.
	BatchLinger time.Duration
}

// Bot turns alerts into incidents and applies responders' commands. Every
// change is one transaction that also writes the timeline and enqueues the
// side effects as jobs.
type Bot struct {
	store     Store
	clock     Clock
	log       *slog.Logger
	services  map[string]Service
	chats     map[string]Chat
	hooks     Hooks
	escalator Escalator
	mailer    Mailer
	handlers  map[string]JobHandler
	kick      chan struct{} // a job was rescheduled in this process

	committers []*batcher[*ingestRequest]
	changers   []*batcher[*changeRequest]
	completer  *batcher[*completion]
	recorder   *batcher[*recording]
	digests    pendingDigests
	closeOnce  sync.Once
	wg         sync.WaitGroup
}

// New returns a Bot whose ingest committers are running; Close stops them.
func New(cfg Config) *Bot {
	b := &Bot{
		store:     cfg.Store,
		clock:     cfg.Clock,
		log:       cfg.Logger,
		services:  make(map[string]Service, len(cfg.Services)),
		chats:     make(map[string]Chat, len(cfg.Chats)),
		hooks:     cfg.Hooks,
		handlers:  make(map[string]JobHandler),
		kick:      make(chan struct{}, 1),
		escalator: cfg.Escalator,
		mailer:    cfg.Mailer,
	}
	if b.clock == nil {
		b.clock = SystemClock
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	for _, s := range cfg.Services {
		b.services[s.ID] = s
	}
	for _, c := range cfg.Chats {
		b.chats[c.Platform()] = c
	}
	n := max(cfg.Committers, 1)
	maxBatch := cfg.MaxBatch
	if maxBatch <= 0 {
		maxBatch = 256
	}
	for range n {
		c := newBatcher(maxBatch, cfg.BatchLinger, b.commitIngest)
		ch := newBatcher(maxBatch, 0, b.commitChanges)
		b.committers, b.changers = append(b.committers, c), append(b.changers, ch)
		b.wg.Add(2)
		go func() { defer b.wg.Done(); c.run() }()
		go func() { defer b.wg.Done(); ch.run() }()
	}
	b.completer = newBatcher(maxBatch, cfg.BatchLinger, b.commitCompletions)
	b.recorder = newBatcher(maxBatch, cfg.BatchLinger, b.commitRecordings)
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.completer.run() }()
	go func() { defer b.wg.Done(); b.recorder.run() }()
	b.registerChatJobs()
	b.Handle(JobMail, b.sendMail)
	b.Handle(JobKBPost, b.postPostmortem)
	return b
}

// Close stops accepting alerts, waits for the ingest batches under way to
// commit and returns.
func (b *Bot) Close() {
	b.closeOnce.Do(func() {
		for _, c := range b.committers {
			c.close()
		}
		for _, c := range b.changers {
			c.close()
		}
		b.completer.close()
		b.recorder.close()
	})
	b.wg.Wait()
}

// Service returns the configured service, or ErrNotFound.
func (b *Bot) Service(id string) (Service, error) {
	s, ok := b.services[id]
	if !ok {
		return Service{}, ErrNotFound
	}
	return s, nil
}

// Store is the store Bot runs on, for readers (the API, audits).
func (b *Bot) Store() Store { return b.store }

// Ping checks the store.
func (b *Bot) Ping(ctx context.Context) error { return b.store.Ping(ctx) }
