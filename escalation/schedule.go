package escalation

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// Rotation kinds of a Schedule.
const (
	RotationDaily  = "daily"
	RotationWeekly = "weekly"
	RotationCustom = "custom"
)

// MinShiftLength is the shortest custom shift: handoffs are given to the
// minute, and a shorter shift would make "who is on call this week" a list
// of thousands.
const MinShiftLength = time.Minute

// Every rotation without a dated first shift counts its handoffs from the
// first one at or after midnight of this local date (a Monday), so that every
// replica and every restart agrees on whose turn it is.
const (
	anchorYear  = 2024
	anchorMonth = time.January
	anchorDay   = 1
)

// A dated first shift must lie within this range of years, which keeps the
// arithmetic from the anchor to any time of interest far from overflow.
const (
	minHandoffYear = 1900
	maxHandoffYear = 2199
)

// Schedule is an on-call rotation: members take turns, handing off at a
// fixed local time. Make one with NewSchedule; the methods read the exported
// fields, so a Schedule must not be changed while it is in use.
type Schedule struct {
	ID       string
	Location *time.Location
	Rotation string // daily | weekly | custom
	// ShiftLength is the length of a custom shift in local wall-clock time:
	// a 12h rotation handed off at 09:00 hands off at 09:00 and 21:00 all
	// year, so the shift across a DST change lasts 11 or 13 hours.
	// Daily and weekly rotations ignore it.
	ShiftLength time.Duration
	// Handoff is "09:00" (daily), "mon 09:00" (weekly); a custom rotation
	// takes either of those or a first shift start "2025-04-01 09:00".
	// A custom "09:00" or "mon 09:00" counts its shifts from that local
	// time on 2024-01-01 or the first such weekday after it.
	Handoff string
	Members []string // contact ids in rotation order
}

// Handoff is a parsed Schedule.Handoff.
type Handoff struct {
	Weekday      time.Weekday // day of a weekly handoff; -1 for a time of day or a dated start
	Hour, Minute int          // local time of day
	// Year, Month and Day are the local date of a custom rotation's first
	// shift ("2025-04-01 09:00"); Year is 0 for every other handoff.
	Year  int
	Month time.Month
	Day   int
}

// Dated reports whether the handoff names the first shift's date.
func (h Handoff) Dated() bool { return h.Year != 0 }

var handoffWeekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// The texts follow the quoted handoff in a config problem:
// `schedules[0].handoff: "9" is not a time of day like "09:00"`.
var (
	errDailyHandoff  = errors.New(`is not a time of day like "09:00"`)
	errWeeklyHandoff = errors.New(`is not a weekday and time like "mon 09:00"`)
	errCustomHandoff = errors.New(`is not a time like "09:00", "mon 09:00" or "2025-04-01 09:00"`)
)

// ParseHandoff parses a handoff for a rotation: "09:00" for daily,
// "mon 09:00" (or "monday 09:00", any case) for weekly and, for custom,
// either of those or the start of a first shift "2025-04-01 09:00".
// Its error reads after the quoted handoff.
func ParseHandoff(rotation, s string) (Handoff, error) {
	fields := strings.Fields(s)
	timeOfDay := func() (Handoff, bool) {
		if len(fields) != 1 {
			return Handoff{}, false
		}
		hour, minute, ok := parseClock(fields[0])
		return Handoff{Weekday: -1, Hour: hour, Minute: minute}, ok
	}
	weekly := func() (Handoff, bool) {
		if len(fields) != 2 {
			return Handoff{}, false
		}
		day, known := handoffWeekdays[strings.ToLower(fields[0])]
		hour, minute, ok := parseClock(fields[1])
		return Handoff{Weekday: day, Hour: hour, Minute: minute}, known && ok
	}
	switch rotation {
	case RotationDaily:
		if h, ok := timeOfDay(); ok {
			return h, nil
		}
		return Handoff{}, errDailyHandoff
	case RotationWeekly:
		if h, ok := weekly(); ok {
			return h, nil
		}
		return Handoff{}, errWeeklyHandoff
	case RotationCustom:
		if h, ok := timeOfDay(); ok {
			return h, nil
		}
		if h, ok := weekly(); ok {
			return h, nil
		}
		// time.Parse checks the calendar: "2025-02-30 09:00" is refused.
		t, err := time.Parse("2006-01-02 15:04", strings.Join(fields, " "))
		if err != nil {
			return Handoff{}, errCustomHandoff
		}
		if t.Year() < minHandoffYear || t.Year() > maxHandoffYear {
			return Handoff{}, fmt.Errorf("starts in %d: want a year from %d to %d", t.Year(), minHandoffYear, maxHandoffYear)
		}
		return Handoff{Weekday: -1, Hour: t.Hour(), Minute: t.Minute(), Year: t.Year(), Month: t.Month(), Day: t.Day()}, nil
	}
	return Handoff{}, fmt.Errorf("has unknown rotation %q: want daily, weekly or custom", rotation)
}

// parseClock reads "9:05" or "09:05": one or two digits of hour, two of minute.
func parseClock(s string) (hour, minute int, ok bool) {
	h, m, found := strings.Cut(s, ":")
	if !found || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, 0, false
	}
	hour, _ = strconv.Atoi(h)
	minute, _ = strconv.Atoi(m)
	return hour, minute, hour < 24 && minute < 60
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// NewSchedule checks a schedule's configuration and returns it. Its error
// names every problem, by config key, as a *bot.InvalidError.
func NewSchedule(id, timeZone, rotation string, shiftLength time.Duration, handoff string, members []string) (*Schedule, error) {
	var problems bot.Problems
	if id == "" {
		problems.Add("id", "is required")
	}
	var loc *time.Location
	if timeZone == "" {
		problems.Add("time_zone", "is required")
	} else if l, err := time.LoadLocation(timeZone); err != nil {
		problems.Add("time_zone", fmt.Sprintf("unknown time zone %q (like Asia/Tokyo or UTC)", timeZone))
	} else {
		loc = l
	}
	switch rotation {
	case RotationDaily, RotationWeekly:
		if shiftLength < 0 {
			problems.Add("shift_length", "must be > 0")
		}
	case RotationCustom:
		if shiftLength < MinShiftLength {
			problems.Add("shift_length", fmt.Sprintf("must be at least %v for a custom rotation", MinShiftLength))
		}
	case "":
		problems.Add("rotation", "is required: daily, weekly or custom")
	default:
		problems.Add("rotation", "must be daily, weekly or custom")
	}
	if rotation == RotationDaily || rotation == RotationWeekly || rotation == RotationCustom {
		if handoff == "" {
			problems.Add("handoff", "is required")
		} else if _, err := ParseHandoff(rotation, handoff); err != nil {
			problems.Add("handoff", fmt.Sprintf("%q %v", handoff, err))
		}
	}
	if len(members) == 0 {
		problems.Add("members", "must name at least one contact")
	}
	for i, m := range members {
		if m == "" {
			problems.Add(fmt.Sprintf("members[%d]", i), "is empty")
		}
	}
	if err := problems.Err(); err != nil {
		return nil, fmt.Errorf("schedule %s: %w", id, err)
	}
	return &Schedule{
		ID:          id,
		Location:    loc,
		Rotation:    rotation,
		ShiftLength: shiftLength,
		Handoff:     handoff,
		Members:     append([]string(nil), members...),
	}, nil
}

// Shift is one member's turn. Override marks a turn that an override gives.
type Shift struct {
	Contact    string
	Start, End time.Time
	Override   bool
}

// OnCall returns who is on call at t: the newest override of this schedule
// covering t, else the rotation's member. The shift's Start and End are
// where that contact's turn begins and ends around t, cut by the overrides
// given. A Schedule not made by NewSchedule may answer the zero Shift.
func (s *Schedule) OnCall(t time.Time, overrides []bot.Override) Shift {
	r, ok := s.rotation()
	if !ok {
		return Shift{}
	}
	return s.shiftAt(r, t, s.own(overrides))
}

// Shifts lists the shifts that overlap [from, to), overrides cut into the
// rotation, in time order: each starts where the one before ends. The first
// and last are not clipped to from and to; their edges outside [from, to)
// reflect only the overrides given. Consecutive turns of one contact stay
// separate shifts.
func (s *Schedule) Shifts(from, to time.Time, overrides []bot.Override) []Shift {
	r, ok := s.rotation()
	if !ok || !from.Before(to) {
		return nil
	}
	own := s.own(overrides)
	var shifts []Shift
	for t := from; t.Before(to); {
		sh := s.shiftAt(r, t, own)
		if !sh.End.After(t) {
			break // only at the edge of representable time
		}
		shifts = append(shifts, sh)
		t = sh.End
	}
	return shifts
}

// override is a bot.Override of this schedule with its position in the
// caller's list, the last tie-break of which is newer.
type override struct {
	bot.Override
	pos int
}

// newerThan orders overrides by creation; an override made later replaces
// an earlier one where they overlap.
func (o override) newerThan(p override) bool {
	if !o.CreatedAt.Equal(p.CreatedAt) {
		return o.CreatedAt.After(p.CreatedAt)
	}
	if o.ID != p.ID {
		return o.ID > p.ID
	}
	return o.pos > p.pos
}

// own keeps the overrides of this schedule that cover some time.
func (s *Schedule) own(overrides []bot.Override) []override {
	var own []override
	for i, o := range overrides {
		if o.Schedule == s.ID && o.Start.Before(o.End) {
			own = append(own, override{Override: o, pos: i})
		}
	}
	return own
}

// shiftAt returns the turn that contains t: the newest override covering t,
// cut where a newer one takes over, or else the rotation's shift, cut where
// any override takes over.
func (s *Schedule) shiftAt(r rotation, t time.Time, overrides []override) Shift {
	var winner *override
	for i := range overrides {
		o := &overrides[i]
		if !o.Start.After(t) && t.Before(o.End) && (winner == nil || o.newerThan(*winner)) {
			winner = o
		}
	}
	var sh Shift
	if winner != nil {
		sh = Shift{Contact: winner.Contact, Start: winner.Start, End: winner.End, Override: true}
	} else {
		k := r.shiftAt(t)
		sh = Shift{Start: r.handoff(k), End: r.handoff(k + 1)}
		if n := int64(len(s.Members)); n > 0 {
			sh.Contact = s.Members[((k%n)+n)%n]
		}
	}
	// Every override that could cut this turn ends at or before t or starts
	// after it: one covering t would have won (or, for an override's turn,
	// is older and so does not cut it).
	for _, o := range overrides {
		if winner != nil && !o.newerThan(*winner) {
			continue
		}
		if !o.End.After(t) && o.End.After(sh.Start) {
			sh.Start = o.End
		}
		if o.Start.After(t) && o.Start.Before(sh.End) {
			sh.End = o.Start
		}
	}
	sh.Start = sh.Start.In(r.loc)
	sh.End = sh.End.In(r.loc)
	return sh
}

// rotation is a schedule's handoffs: handoff k is anchor + k*step in local
// wall-clock time, and member k mod len(members) is on call from it. Daily
// and weekly rotations are steps of 24 hours and 7 days of wall clock, which
// is what keeps their handoffs at the same local time across DST.
type rotation struct {
	loc    *time.Location
	anchor time.Time     // wall clock of handoff 0, as a UTC time
	step   time.Duration // of wall clock
}

func (s *Schedule) rotation() (rotation, bool) {
	h, err := ParseHandoff(s.Rotation, s.Handoff)
	if err != nil {
		return rotation{}, false
	}
	r := rotation{loc: s.Location}
	if r.loc == nil {
		r.loc = time.UTC
	}
	switch s.Rotation {
	case RotationDaily:
		r.step = 24 * time.Hour
	case RotationWeekly:
		r.step = 7 * 24 * time.Hour
	default:
		if s.ShiftLength <= 0 {
			return rotation{}, false
		}
		r.step = s.ShiftLength
	}
	if h.Dated() {
		r.anchor = time.Date(h.Year, h.Month, h.Day, h.Hour, h.Minute, 0, 0, time.UTC)
		return r, true
	}
	r.anchor = time.Date(anchorYear, anchorMonth, anchorDay, h.Hour, h.Minute, 0, 0, time.UTC)
	if h.Weekday >= 0 {
		r.anchor = r.anchor.AddDate(0, 0, (int(h.Weekday)-int(r.anchor.Weekday())+7)%7)
	}
	return r, true
}

// handoff returns the instant of handoff k.
func (r rotation) handoff(k int64) time.Time {
	return localTime(r.anchor.Add(mulDuration(k, r.step)), r.loc)
}

// shiftAt returns the last handoff k at or before t. Handoffs never go
// backwards in time (two may coincide in a DST gap), so it searches from
// the wall-clock estimate, which is off by a DST offset at most.
func (r rotation) shiftAt(t time.Time) int64 {
	d := wallClock(t.In(r.loc)).Sub(r.anchor)
	k := int64(d / r.step)
	if d%r.step < 0 {
		k--
	}
	// Bracket t between lo and hi, doubling the stride, then bisect.
	lo, hi := k, k+1
	for stride := int64(1); stride < 1<<62; stride *= 2 {
		if r.handoff(lo).After(t) {
			lo, hi = lo-stride, lo
		} else if !r.handoff(hi).After(t) {
			lo, hi = hi, hi+stride
		} else {
			break
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if r.handoff(mid).After(t) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo
}

// mulDuration is k*d for d > 0, saturating instead of wrapping around.
func mulDuration(k int64, d time.Duration) time.Duration {
	abs := uint64(k)
	if k < 0 {
		abs = -abs
	}
	hi, lo := bits.Mul64(abs, uint64(d))
	switch {
	case k >= 0 && (hi != 0 || lo > math.MaxInt64):
		return math.MaxInt64
	case k < 0 && (hi != 0 || lo > 1<<63):
		return math.MinInt64
	case k < 0:
		return time.Duration(-lo)
	}
	return time.Duration(lo)
}

// wallClock returns t's local date and time of day as a UTC time, on which
// Add and Sub are calendar arithmetic free of DST.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// localTime returns the instant at which loc's clocks show wall. A wall time
// that DST skips is the instant the clocks jump (02:30 on a spring-forward
// day in New York hands off at 03:00 EDT); one that DST repeats is its first
// occurrence (01:30 on a fall-back day is 01:30 EDT). time.Date leaves both
// choices open.
func localTime(wall time.Time, loc *time.Location) time.Time {
	t := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
	got := wallClock(t)
	switch {
	case got.Before(wall): // before the gap, in the zone that ends at it
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end.In(loc)
		}
	case got.After(wall): // after the gap, in the zone that starts at it
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			return start.In(loc)
		}
	default:
		// The clocks went back at the start of t's zone: the same wall time
		// may have come earlier in the zone before.
		start, _ := t.ZoneBounds()
		if start.IsZero() {
			return t
		}
		_, before := start.Add(-time.Nanosecond).Zone()
		_, now := t.Zone()
		if before > now {
			if earlier := t.Add(-time.Duration(before-now) * time.Second); earlier.Before(start) && wallClock(earlier).Equal(wall) {
				return earlier
			}
		}
	}
	return t
}
