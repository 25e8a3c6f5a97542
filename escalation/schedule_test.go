package escalation

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed

	"github.com/hotline-dev/hotline/bot"
)

func TestParseHandoff(t *testing.T) {
	const (
		dailyErr  = `is not a time of day like "09:00"`
		weeklyErr = `is not a weekday and time like "mon 09:00"`
		customErr = `is not a time like "09:00", "mon 09:00" or "2025-04-01 09:00"`
	)
	tests := []struct {
		rotation, in string
		want         Handoff
		err          string
	}{
		{"daily", "09:00", Handoff{Weekday: -1, Hour: 9}, ""},
		{"daily", "9:05", Handoff{Weekday: -1, Hour: 9, Minute: 5}, ""},
		{"daily", " 23:59 ", Handoff{Weekday: -1, Hour: 23, Minute: 59}, ""},
		{"daily", "00:00", Handoff{Weekday: -1}, ""},
		{"daily", "24:00", Handoff{}, dailyErr},
		{"daily", "09:60", Handoff{}, dailyErr},
		{"daily", "9:5", Handoff{}, dailyErr},
		{"daily", "0900", Handoff{}, dailyErr},
		{"daily", "09:00:00", Handoff{}, dailyErr},
		{"daily", "+9:00", Handoff{}, dailyErr},
		{"daily", "", Handoff{}, dailyErr},
		{"daily", "mon 09:00", Handoff{}, dailyErr},
		{"daily", "2025-04-01 09:00", Handoff{}, dailyErr},

		{"weekly", "mon 09:00", Handoff{Weekday: time.Monday, Hour: 9}, ""},
		{"weekly", "Sunday 18:30", Handoff{Weekday: time.Sunday, Hour: 18, Minute: 30}, ""},
		{"weekly", "FRI  9:00", Handoff{Weekday: time.Friday, Hour: 9}, ""},
		{"weekly", "09:00", Handoff{}, weeklyErr},
		{"weekly", "mo 09:00", Handoff{}, weeklyErr},
		{"weekly", "mon", Handoff{}, weeklyErr},
		{"weekly", "mon 25:00", Handoff{}, weeklyErr},
		{"weekly", "mon 09:00 utc", Handoff{}, weeklyErr},
		{"weekly", "2025-04-01 09:00", Handoff{}, weeklyErr},

		{"custom", "09:00", Handoff{Weekday: -1, Hour: 9}, ""},
		{"custom", "tue 21:15", Handoff{Weekday: time.Tuesday, Hour: 21, Minute: 15}, ""},
		{"custom", "2025-04-01 09:00", Handoff{Weekday: -1, Hour: 9, Year: 2025, Month: time.April, Day: 1}, ""},
		{"custom", "2024-02-29 23:30", Handoff{Weekday: -1, Hour: 23, Minute: 30, Year: 2024, Month: time.February, Day: 29}, ""},
		{"custom", "2025-02-29 09:00", Handoff{}, customErr},
		{"custom", "2025-04-01", Handoff{}, customErr},
		{"custom", "2025/04/01 09:00", Handoff{}, customErr},
		{"custom", "2025-04-01 24:00", Handoff{}, customErr},
		{"custom", "tomorrow", Handoff{}, customErr},
		{"custom", "", Handoff{}, customErr},
		{"custom", "0001-01-01 09:00", Handoff{}, "starts in 1: want a year from 1900 to 2199"},

		{"hourly", "09:00", Handoff{}, `has unknown rotation "hourly": want daily, weekly or custom`},
	}
	for _, tt := range tests {
		t.Run(tt.rotation+"/"+tt.in, func(t *testing.T) {
			got, err := ParseHandoff(tt.rotation, tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("ParseHandoff(%q, %q) = %+v, %v; want error %q", tt.rotation, tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseHandoff(%q, %q) = %+v, %v; want %+v", tt.rotation, tt.in, got, err, tt.want)
			}
			if got.Dated() != (tt.want.Year != 0) {
				t.Errorf("Dated() = %v", got.Dated())
			}
		})
	}
}

func TestNewSchedule(t *testing.T) {
	s, err := NewSchedule("infra", "Asia/Tokyo", "weekly", 0, "mon 09:00", []string{"tanaka", "suzuki"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "infra" || s.Location.String() != "Asia/Tokyo" || s.Rotation != "weekly" || s.Handoff != "mon 09:00" ||
		strings.Join(s.Members, ",") != "tanaka,suzuki" {
		t.Errorf("NewSchedule = %+v", s)
	}

	members := []string{"a", "b"}
	s, err = NewSchedule("x", "UTC", "daily", 0, "09:00", members)
	if err != nil {
		t.Fatal(err)
	}
	members[0] = "changed"
	if s.Members[0] != "a" {
		t.Errorf("Members shares the caller's slice: %v", s.Members)
	}

	bad := []struct {
		name        string
		id, zone    string
		rotation    string
		shiftLength time.Duration
		handoff     string
		members     []string
		want        []string
	}{
		{"no id", "", "UTC", "daily", 0, "09:00", []string{"a"}, []string{"id: is required"}},
		{"no zone", "s", "", "daily", 0, "09:00", []string{"a"}, []string{"time_zone: is required"}},
		{"unknown zone", "s", "Asia/Nowhere", "daily", 0, "09:00", []string{"a"},
			[]string{`time_zone: unknown time zone "Asia/Nowhere"`}},
		{"no rotation", "s", "UTC", "", 0, "09:00", []string{"a"}, []string{"rotation: is required"}},
		{"bad rotation", "s", "UTC", "hourly", 0, "09:00", []string{"a"}, []string{"rotation: must be daily, weekly or custom"}},
		{"custom without length", "s", "UTC", "custom", 0, "09:00", []string{"a"},
			[]string{"shift_length: must be at least 1m0s"}},
		{"custom too short", "s", "UTC", "custom", 30 * time.Second, "09:00", []string{"a"},
			[]string{"shift_length: must be at least 1m0s"}},
		{"negative length", "s", "UTC", "daily", -time.Hour, "09:00", []string{"a"}, []string{"shift_length: must be > 0"}},
		{"no handoff", "s", "UTC", "daily", 0, "", []string{"a"}, []string{"handoff: is required"}},
		{"bad handoff", "s", "UTC", "weekly", 0, "09:00", []string{"a"},
			[]string{`handoff: "09:00" is not a weekday and time like "mon 09:00"`}},
		{"no members", "s", "UTC", "daily", 0, "09:00", nil, []string{"members: must name at least one contact"}},
		{"empty member", "s", "UTC", "daily", 0, "09:00", []string{"a", ""}, []string{"members[1]: is empty"}},
		{"every problem at once", "s", "Mars/Olympus", "custom", 0, "someday", nil, []string{
			"time_zone: unknown", "shift_length: must be", `handoff: "someday" is not a time`, "members: must name"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSchedule(tt.id, tt.zone, tt.rotation, tt.shiftLength, tt.handoff, tt.members)
			if err == nil {
				t.Fatalf("NewSchedule = %+v, want an error", s)
			}
			var invalid *bot.InvalidError
			if !errors.As(err, &invalid) {
				t.Errorf("error %v is not a *bot.InvalidError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

var (
	tokyo   = mustLoad("Asia/Tokyo")
	newYork = mustLoad("America/New_York")
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func mustSchedule(t *testing.T, zone, rotation string, shiftLength time.Duration, handoff string, members ...string) *Schedule {
	t.Helper()
	s, err := NewSchedule("sched", zone, rotation, shiftLength, handoff, members)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// at is a local time in loc; the tests below spell their expected instants
// in UTC where the point is the offset.
func at(loc *time.Location, year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, loc)
}

func utc(year int, month time.Month, day, hour, minute int) time.Time {
	return at(time.UTC, year, month, day, hour, minute)
}

func sameShift(a, b Shift) bool {
	return a.Contact == b.Contact && a.Override == b.Override && a.Start.Equal(b.Start) && a.End.Equal(b.End)
}

func fmtShift(sh Shift) string {
	kind := ""
	if sh.Override {
		kind = " (override)"
	}
	return fmt.Sprintf("%s%s %s – %s", sh.Contact, kind, sh.Start.Format(time.RFC3339), sh.End.Format(time.RFC3339))
}

func fmtShifts(shifts []Shift) string {
	lines := make([]string, len(shifts))
	for i, sh := range shifts {
		lines[i] = fmtShift(sh)
	}
	return strings.Join(lines, "\n")
}

type onCallCase struct {
	name string
	at   time.Time
	want Shift
}

func checkOnCall(t *testing.T, s *Schedule, overrides []bot.Override, tests []onCallCase) {
	t.Helper()
	for _, tt := range tests {
		if got := s.OnCall(tt.at, overrides); !sameShift(got, tt.want) {
			t.Errorf("%s: OnCall(%s) = %v, want %v", tt.name, tt.at.Format(time.RFC3339Nano), fmtShift(got), fmtShift(tt.want))
		}
	}
}

func rot(contact string, start, end time.Time) Shift {
	return Shift{Contact: contact, Start: start, End: end}
}

func over(contact string, start, end time.Time) Shift {
	return Shift{Contact: contact, Start: start, End: end, Override: true}
}

func TestOnCallDaily(t *testing.T) {
	// Day 0 is 2024-01-01; 2025-04-01 is day 456 and 2020-01-01 day -1461,
	// both multiples of 3.
	s := mustSchedule(t, "Asia/Tokyo", "daily", 0, "09:00", "a", "b", "c")
	checkOnCall(t, s, nil, []onCallCase{
		{"anchor handoff", at(tokyo, 2024, 1, 1, 9, 0), rot("a", at(tokyo, 2024, 1, 1, 9, 0), at(tokyo, 2024, 1, 2, 9, 0))},
		{"just before the anchor", at(tokyo, 2024, 1, 1, 9, 0).Add(-time.Nanosecond),
			rot("c", at(tokyo, 2023, 12, 31, 9, 0), at(tokyo, 2024, 1, 1, 9, 0))},
		{"at handoff", at(tokyo, 2025, 4, 1, 9, 0), rot("a", at(tokyo, 2025, 4, 1, 9, 0), at(tokyo, 2025, 4, 2, 9, 0))},
		{"just before handoff", at(tokyo, 2025, 4, 1, 9, 0).Add(-time.Nanosecond),
			rot("c", at(tokyo, 2025, 3, 31, 9, 0), at(tokyo, 2025, 4, 1, 9, 0))},
		{"after local midnight", at(tokyo, 2025, 4, 2, 0, 30), rot("a", at(tokyo, 2025, 4, 1, 9, 0), at(tokyo, 2025, 4, 2, 9, 0))},
		{"next day", at(tokyo, 2025, 4, 2, 9, 0), rot("b", at(tokyo, 2025, 4, 2, 9, 0), at(tokyo, 2025, 4, 3, 9, 0))},
		{"long before the anchor", at(tokyo, 2020, 1, 1, 12, 0), rot("a", at(tokyo, 2020, 1, 1, 9, 0), at(tokyo, 2020, 1, 2, 9, 0))},
		// 2025-04-01 00:30 UTC is 09:30 in Tokyo: the zone, not UTC, decides.
		{"instant given in UTC", utc(2025, 4, 1, 0, 30), rot("a", at(tokyo, 2025, 4, 1, 9, 0), at(tokyo, 2025, 4, 2, 9, 0))},
	})

	u := mustSchedule(t, "UTC", "daily", 0, "00:00", "a", "b")
	checkOnCall(t, u, nil, []onCallCase{
		{"at handoff", utc(2025, 4, 1, 0, 0), rot("a", utc(2025, 4, 1, 0, 0), utc(2025, 4, 2, 0, 0))},
		{"just before", utc(2025, 4, 1, 0, 0).Add(-time.Nanosecond), rot("b", utc(2025, 3, 31, 0, 0), utc(2025, 4, 1, 0, 0))},
		{"09:00 in Tokyo", at(tokyo, 2025, 4, 1, 9, 0), rot("a", utc(2025, 4, 1, 0, 0), utc(2025, 4, 2, 0, 0))},
		{"08:59 in Tokyo", at(tokyo, 2025, 4, 1, 8, 59), rot("b", utc(2025, 3, 31, 0, 0), utc(2025, 4, 1, 0, 0))},
	})
}

func TestOnCallWeekly(t *testing.T) {
	// 2024-01-01 is a Monday; 2025-04-07 is a Monday 66 weeks later.
	s := mustSchedule(t, "Asia/Tokyo", "weekly", 0, "mon 09:00", "tanaka", "suzuki")
	checkOnCall(t, s, nil, []onCallCase{
		{"anchor", at(tokyo, 2024, 1, 1, 9, 0), rot("tanaka", at(tokyo, 2024, 1, 1, 9, 0), at(tokyo, 2024, 1, 8, 9, 0))},
		{"at handoff", at(tokyo, 2025, 4, 7, 9, 0), rot("tanaka", at(tokyo, 2025, 4, 7, 9, 0), at(tokyo, 2025, 4, 14, 9, 0))},
		{"just before handoff", at(tokyo, 2025, 4, 7, 9, 0).Add(-time.Nanosecond),
			rot("suzuki", at(tokyo, 2025, 3, 31, 9, 0), at(tokyo, 2025, 4, 7, 9, 0))},
		{"mid-week", at(tokyo, 2025, 4, 10, 3, 0), rot("tanaka", at(tokyo, 2025, 4, 7, 9, 0), at(tokyo, 2025, 4, 14, 9, 0))},
		{"Monday before the handoff", at(tokyo, 2025, 4, 14, 8, 0), rot("tanaka", at(tokyo, 2025, 4, 7, 9, 0), at(tokyo, 2025, 4, 14, 9, 0))},
	})

	// The first Friday 18:00 at or after 2024-01-01 is 2024-01-05.
	f := mustSchedule(t, "UTC", "weekly", 0, "friday 18:00", "a", "b", "c")
	checkOnCall(t, f, nil, []onCallCase{
		{"anchor", utc(2024, 1, 5, 18, 0), rot("a", utc(2024, 1, 5, 18, 0), utc(2024, 1, 12, 18, 0))},
		{"just before the anchor", utc(2024, 1, 5, 17, 59), rot("c", utc(2023, 12, 29, 18, 0), utc(2024, 1, 5, 18, 0))},
		{"on 2024-01-01", utc(2024, 1, 1, 12, 0), rot("c", utc(2023, 12, 29, 18, 0), utc(2024, 1, 5, 18, 0))},
		{"two weeks on", utc(2024, 1, 19, 18, 0), rot("c", utc(2024, 1, 19, 18, 0), utc(2024, 1, 26, 18, 0))},
	})
}

func TestOnCallCustom(t *testing.T) {
	// A dated first shift: 8h shifts from 2025-04-01 09:00 UTC, counted
	// backwards before it.
	d := mustSchedule(t, "UTC", "custom", 8*time.Hour, "2025-04-01 09:00", "a", "b", "c")
	checkOnCall(t, d, nil, []onCallCase{
		{"first shift", utc(2025, 4, 1, 9, 0), rot("a", utc(2025, 4, 1, 9, 0), utc(2025, 4, 1, 17, 0))},
		{"second", utc(2025, 4, 1, 17, 0), rot("b", utc(2025, 4, 1, 17, 0), utc(2025, 4, 2, 1, 0))},
		{"third", utc(2025, 4, 2, 1, 0), rot("c", utc(2025, 4, 2, 1, 0), utc(2025, 4, 2, 9, 0))},
		{"round again", utc(2025, 4, 2, 9, 0), rot("a", utc(2025, 4, 2, 9, 0), utc(2025, 4, 2, 17, 0))},
		{"just before the first", utc(2025, 4, 1, 9, 0).Add(-time.Nanosecond), rot("c", utc(2025, 4, 1, 1, 0), utc(2025, 4, 1, 9, 0))},
		{"three shifts before", utc(2025, 3, 31, 16, 59), rot("a", utc(2025, 3, 31, 9, 0), utc(2025, 3, 31, 17, 0))},
	})

	// A time of day: 12h shifts from 2024-01-01 09:00 Tokyo time.
	// 2025-04-01 09:00 is handoff 2*456.
	h := mustSchedule(t, "Asia/Tokyo", "custom", 12*time.Hour, "09:00", "a", "b")
	checkOnCall(t, h, nil, []onCallCase{
		{"anchor", at(tokyo, 2024, 1, 1, 9, 0), rot("a", at(tokyo, 2024, 1, 1, 9, 0), at(tokyo, 2024, 1, 1, 21, 0))},
		{"day shift", at(tokyo, 2025, 4, 1, 9, 0), rot("a", at(tokyo, 2025, 4, 1, 9, 0), at(tokyo, 2025, 4, 1, 21, 0))},
		{"night shift", at(tokyo, 2025, 4, 1, 21, 0), rot("b", at(tokyo, 2025, 4, 1, 21, 0), at(tokyo, 2025, 4, 2, 9, 0))},
		{"just before the night", at(tokyo, 2025, 4, 1, 21, 0).Add(-time.Nanosecond),
			rot("a", at(tokyo, 2025, 4, 1, 9, 0), at(tokyo, 2025, 4, 1, 21, 0))},
	})

	// A weekday and time: 72h shifts from Wednesday 2024-01-03 09:00 UTC.
	w := mustSchedule(t, "UTC", "custom", 72*time.Hour, "wed 09:00", "a", "b")
	checkOnCall(t, w, nil, []onCallCase{
		{"anchor", utc(2024, 1, 3, 9, 0), rot("a", utc(2024, 1, 3, 9, 0), utc(2024, 1, 6, 9, 0))},
		{"next", utc(2024, 1, 6, 9, 0), rot("b", utc(2024, 1, 6, 9, 0), utc(2024, 1, 9, 9, 0))},
		{"just before the anchor", utc(2024, 1, 3, 8, 59), rot("b", utc(2023, 12, 31, 9, 0), utc(2024, 1, 3, 9, 0))},
	})
}

// In America/New_York the clocks went forward on 2024-03-10 at 02:00 EST
// (07:00 UTC) and back on 2024-11-03 at 02:00 EDT (06:00 UTC).
func TestOnCallAcrossDST(t *testing.T) {
	// Days since 2024-01-01: 03-09 is 68, 03-10 is 69, 11-02 is 306, 11-03 is 307.
	daily := mustSchedule(t, "America/New_York", "daily", 0, "09:00", "a", "b")
	checkOnCall(t, daily, nil, []onCallCase{
		// 09:00 EDT is 13:00 UTC; a 24h step in elapsed time would hand off at 14:00 UTC.
		{"spring: just before 09:00 EDT", utc(2024, 3, 10, 12, 59), rot("a", utc(2024, 3, 9, 14, 0), utc(2024, 3, 10, 13, 0))},
		{"spring: 09:00 EDT", utc(2024, 3, 10, 13, 0), rot("b", utc(2024, 3, 10, 13, 0), utc(2024, 3, 11, 13, 0))},
		// 09:00 EST is 14:00 UTC; a 24h step would hand off at 13:00 UTC.
		{"fall: 08:30 EST", utc(2024, 11, 3, 13, 30), rot("a", utc(2024, 11, 2, 13, 0), utc(2024, 11, 3, 14, 0))},
		{"fall: 09:00 EST", utc(2024, 11, 3, 14, 0), rot("b", utc(2024, 11, 3, 14, 0), utc(2024, 11, 4, 14, 0))},
	})

	// Weeks since 2024-01-01: Monday 03-04 is week 9, 03-11 week 10.
	weekly := mustSchedule(t, "America/New_York", "weekly", 0, "mon 09:00", "a", "b")
	checkOnCall(t, weekly, nil, []onCallCase{
		{"week across the change", utc(2024, 3, 10, 12, 0), rot("b", utc(2024, 3, 4, 14, 0), utc(2024, 3, 11, 13, 0))},
		{"just before 09:00 EDT", utc(2024, 3, 11, 12, 59), rot("b", utc(2024, 3, 4, 14, 0), utc(2024, 3, 11, 13, 0))},
		{"09:00 EDT", utc(2024, 3, 11, 13, 0), rot("a", utc(2024, 3, 11, 13, 0), utc(2024, 3, 18, 13, 0))},
		// Monday 11-04 is week 44.
		{"09:00 EST in November", utc(2024, 11, 4, 14, 0), rot("a", utc(2024, 11, 4, 14, 0), utc(2024, 11, 11, 14, 0))},
		{"08:00 EST in November", utc(2024, 11, 4, 13, 0), rot("b", utc(2024, 10, 28, 13, 0), utc(2024, 11, 4, 14, 0))},
	})

	// 12h custom shifts stay at 09:00 and 21:00 local: the night of the
	// fall-back lasts 13 hours.
	custom := mustSchedule(t, "America/New_York", "custom", 12*time.Hour, "09:00", "a", "b")
	checkOnCall(t, custom, nil, []onCallCase{
		{"night across the change", utc(2024, 11, 3, 6, 30), rot("b", utc(2024, 11, 3, 1, 0), utc(2024, 11, 3, 14, 0))},
		{"09:00 EST", utc(2024, 11, 3, 14, 0), rot("a", utc(2024, 11, 3, 14, 0), utc(2024, 11, 4, 2, 0))},
	})

	// A handoff time the clocks skip happens when they jump; one they
	// repeat happens the first time round.
	skipped := mustSchedule(t, "America/New_York", "daily", 0, "02:30", "a", "b")
	checkOnCall(t, skipped, nil, []onCallCase{
		{"02:30 skipped: 01:59 EST", utc(2024, 3, 10, 6, 59), rot("a", utc(2024, 3, 9, 7, 30), utc(2024, 3, 10, 7, 0))},
		{"02:30 skipped: 03:00 EDT", utc(2024, 3, 10, 7, 0), rot("b", utc(2024, 3, 10, 7, 0), utc(2024, 3, 11, 6, 30))},
	})
	repeated := mustSchedule(t, "America/New_York", "daily", 0, "01:30", "a", "b")
	checkOnCall(t, repeated, nil, []onCallCase{
		{"01:30 repeated: 01:29 EDT", utc(2024, 11, 3, 5, 29), rot("a", utc(2024, 11, 2, 5, 30), utc(2024, 11, 3, 5, 30))},
		{"01:30 repeated: 01:30 EDT", utc(2024, 11, 3, 5, 30), rot("b", utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30))},
		{"01:30 repeated: 01:30 EST", utc(2024, 11, 3, 6, 30), rot("b", utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30))},
	})
}

// A custom rotation of 24 hours from "09:00" is the daily rotation, and of
// 7 days from "mon 09:00" the weekly one, every hour of a year with two DST
// changes.
func TestCustomMatchesDailyAndWeekly(t *testing.T) {
	pairs := []struct{ a, b *Schedule }{
		{mustSchedule(t, "America/New_York", "daily", 0, "09:00", "a", "b", "c"),
			mustSchedule(t, "America/New_York", "custom", 24*time.Hour, "09:00", "a", "b", "c")},
		{mustSchedule(t, "America/New_York", "weekly", 0, "mon 09:00", "a", "b", "c"),
			mustSchedule(t, "America/New_York", "custom", 7*24*time.Hour, "mon 09:00", "a", "b", "c")},
	}
	for _, p := range pairs {
		for tm := utc(2024, 1, 1, 0, 0); tm.Before(utc(2025, 1, 1, 0, 0)); tm = tm.Add(time.Hour) {
			if a, b := p.a.OnCall(tm, nil), p.b.OnCall(tm, nil); !sameShift(a, b) {
				t.Fatalf("%s at %s: %v, custom: %v", p.a.Rotation, tm, fmtShift(a), fmtShift(b))
			}
		}
	}
}

func TestOnCallSingleMember(t *testing.T) {
	s := mustSchedule(t, "Asia/Tokyo", "weekly", 0, "mon 09:00", "solo")
	checkOnCall(t, s, nil, []onCallCase{
		{"handoff to self", at(tokyo, 2025, 4, 7, 9, 0), rot("solo", at(tokyo, 2025, 4, 7, 9, 0), at(tokyo, 2025, 4, 14, 9, 0))},
		{"just before", at(tokyo, 2025, 4, 7, 9, 0).Add(-time.Nanosecond),
			rot("solo", at(tokyo, 2025, 3, 31, 9, 0), at(tokyo, 2025, 4, 7, 9, 0))},
		{"before the anchor", at(tokyo, 2023, 6, 1, 0, 0), rot("solo", at(tokyo, 2023, 5, 29, 9, 0), at(tokyo, 2023, 6, 5, 9, 0))},
	})
}

func TestOnCallOverrides(t *testing.T) {
	// 2025-04-01 is a's day, 04-02 b's.
	s := mustSchedule(t, "Asia/Tokyo", "daily", 0, "09:00", "a", "b", "c")
	day := func(d, hour int) time.Time { return at(tokyo, 2025, 4, d, hour, 0) }
	made := func(minute int) time.Time { return utc(2025, 3, 1, 0, minute) }
	ov := func(id int64, schedule, contact string, start, end, created time.Time) bot.Override {
		return bot.Override{ID: id, Schedule: schedule, Contact: contact, Start: start, End: end, CreatedAt: created}
	}

	t.Run("covering", func(t *testing.T) {
		os := []bot.Override{ov(1, "sched", "x", day(1, 12), day(1, 15), made(0))}
		checkOnCall(t, s, os, []onCallCase{
			{"before", day(1, 12).Add(-time.Nanosecond), rot("a", day(1, 9), day(1, 12))},
			{"at start", day(1, 12), over("x", day(1, 12), day(1, 15))},
			{"inside", day(1, 14), over("x", day(1, 12), day(1, 15))},
			{"at end", day(1, 15), rot("a", day(1, 15), day(2, 9))},
			{"next day", day(2, 9), rot("b", day(2, 9), day(3, 9))},
		})
	})
	t.Run("across a handoff", func(t *testing.T) {
		os := []bot.Override{ov(1, "sched", "x", day(1, 20), day(2, 12), made(0))}
		checkOnCall(t, s, os, []onCallCase{
			{"at the rotation's handoff", day(2, 9), over("x", day(1, 20), day(2, 12))},
			{"after", day(2, 12), rot("b", day(2, 12), day(3, 9))},
		})
	})
	t.Run("adjacent", func(t *testing.T) {
		os := []bot.Override{
			ov(1, "sched", "x", day(1, 12), day(1, 15), made(0)),
			ov(2, "sched", "y", day(1, 15), day(1, 18), made(0)),
		}
		checkOnCall(t, s, os, []onCallCase{
			{"end of the first", day(1, 15).Add(-time.Nanosecond), over("x", day(1, 12), day(1, 15))},
			{"start of the second", day(1, 15), over("y", day(1, 15), day(1, 18))},
			{"after both", day(1, 18), rot("a", day(1, 18), day(2, 9))},
		})
	})
	t.Run("nested, newer inside", func(t *testing.T) {
		os := []bot.Override{
			ov(2, "sched", "q", day(1, 13), day(1, 14), made(5)),
			ov(1, "sched", "p", day(1, 10), day(1, 20), made(0)),
		}
		checkOnCall(t, s, os, []onCallCase{
			{"outer before", day(1, 12), over("p", day(1, 10), day(1, 13))},
			{"inner", day(1, 13), over("q", day(1, 13), day(1, 14))},
			{"outer after", day(1, 14), over("p", day(1, 14), day(1, 20))},
		})
	})
	t.Run("nested, newer outside", func(t *testing.T) {
		os := []bot.Override{
			ov(1, "sched", "s", day(1, 13), day(1, 14), made(0)),
			ov(2, "sched", "r", day(1, 10), day(1, 20), made(5)),
		}
		checkOnCall(t, s, os, []onCallCase{
			{"before the older inner", day(1, 12), over("r", day(1, 10), day(1, 20))},
			{"older inner is hidden", day(1, 13), over("r", day(1, 10), day(1, 20))},
			{"after the older inner", day(1, 15), over("r", day(1, 10), day(1, 20))},
		})
	})
	t.Run("same creation time: higher id is newer", func(t *testing.T) {
		os := []bot.Override{
			ov(7, "sched", "late", day(1, 13), day(1, 14), made(0)),
			ov(3, "sched", "early", day(1, 10), day(1, 20), made(0)),
		}
		checkOnCall(t, s, os, []onCallCase{
			{"inner", day(1, 13), over("late", day(1, 13), day(1, 14))},
		})
	})
	t.Run("other schedule ignored", func(t *testing.T) {
		os := []bot.Override{ov(1, "other", "x", day(1, 10), day(1, 20), made(0))}
		checkOnCall(t, s, os, []onCallCase{
			{"covered elsewhere", day(1, 12), rot("a", day(1, 9), day(2, 9))},
		})
	})
	t.Run("empty override ignored", func(t *testing.T) {
		os := []bot.Override{ov(1, "sched", "x", day(1, 12), day(1, 12), made(0)), ov(2, "sched", "y", day(1, 14), day(1, 13), made(0))}
		checkOnCall(t, s, os, []onCallCase{
			{"at its start", day(1, 12), rot("a", day(1, 9), day(2, 9))},
			{"inside a backwards one", day(1, 13), rot("a", day(1, 9), day(2, 9))},
		})
	})
}

func TestShiftsWeekWithOverride(t *testing.T) {
	s := mustSchedule(t, "Asia/Tokyo", "daily", 0, "09:00", "a", "b", "c")
	day := func(d, hour int) time.Time { return at(tokyo, 2025, 4, d, hour, 0) }
	overrides := []bot.Override{
		{ID: 1, Schedule: "sched", Contact: "x", Start: day(9, 21), End: day(10, 12)},
		{ID: 2, Schedule: "other", Contact: "y", Start: day(8, 0), End: day(12, 0)},
	}
	from, to := day(7, 0), day(14, 0) // Monday to Monday; 04-07 is day 462, a's
	got := s.Shifts(from, to, overrides)
	want := []Shift{
		rot("c", day(6, 9), day(7, 9)),
		rot("a", day(7, 9), day(8, 9)),
		rot("b", day(8, 9), day(9, 9)),
		rot("c", day(9, 9), day(9, 21)),
		over("x", day(9, 21), day(10, 12)),
		rot("a", day(10, 12), day(11, 9)),
		rot("b", day(11, 9), day(12, 9)),
		rot("c", day(12, 9), day(13, 9)),
		rot("a", day(13, 9), day(14, 9)),
	}
	if len(got) != len(want) {
		t.Fatalf("Shifts = %d shifts, want %d:\n%v", len(got), len(want), fmtShifts(got))
	}
	for i := range want {
		if !sameShift(got[i], want[i]) {
			t.Errorf("shift %d = %v, want %v", i, fmtShift(got[i]), fmtShift(want[i]))
		}
		if got[i].Start.Location() != s.Location || got[i].End.Location() != s.Location {
			t.Errorf("shift %d is in %v, want the schedule's zone", i, got[i].Start.Location())
		}
	}
	checkTiling(t, s, from, to, overrides, got)
}

func TestShiftsNestedOverrides(t *testing.T) {
	s := mustSchedule(t, "UTC", "weekly", 0, "mon 00:00", "a", "b")
	// 2024-01-01 starts a's week.
	overrides := []bot.Override{
		{ID: 1, Schedule: "sched", Contact: "p", Start: utc(2023, 12, 30, 0, 0), End: utc(2024, 1, 3, 0, 0), CreatedAt: utc(2023, 12, 1, 0, 0)},
		{ID: 2, Schedule: "sched", Contact: "q", Start: utc(2024, 1, 1, 12, 0), End: utc(2024, 1, 2, 0, 0), CreatedAt: utc(2023, 12, 2, 0, 0)},
		{ID: 3, Schedule: "sched", Contact: "r", Start: utc(2024, 1, 6, 0, 0), End: utc(2024, 1, 9, 0, 0), CreatedAt: utc(2023, 12, 3, 0, 0)},
	}
	from, to := utc(2024, 1, 1, 0, 0), utc(2024, 1, 8, 0, 0)
	got := s.Shifts(from, to, overrides)
	want := []Shift{
		over("p", utc(2023, 12, 30, 0, 0), utc(2024, 1, 1, 12, 0)),
		over("q", utc(2024, 1, 1, 12, 0), utc(2024, 1, 2, 0, 0)),
		over("p", utc(2024, 1, 2, 0, 0), utc(2024, 1, 3, 0, 0)),
		rot("a", utc(2024, 1, 3, 0, 0), utc(2024, 1, 6, 0, 0)),
		over("r", utc(2024, 1, 6, 0, 0), utc(2024, 1, 9, 0, 0)),
	}
	if len(got) != len(want) {
		t.Fatalf("Shifts = %d shifts, want %d:\n%v", len(got), len(want), fmtShifts(got))
	}
	for i := range want {
		if !sameShift(got[i], want[i]) {
			t.Errorf("shift %d = %v, want %v", i, fmtShift(got[i]), fmtShift(want[i]))
		}
	}
	checkTiling(t, s, from, to, overrides, got)
}

func TestShiftsAcrossDST(t *testing.T) {
	s := mustSchedule(t, "America/New_York", "weekly", 0, "mon 09:00", "a", "b")
	from, to := at(newYork, 2024, 3, 1, 0, 0), at(newYork, 2024, 4, 1, 0, 0)
	got := s.Shifts(from, to, nil)
	if len(got) != 5 { // from Monday 02-26 to Monday 04-01 09:00
		t.Fatalf("Shifts = %d shifts, want 5:\n%v", len(got), fmtShifts(got))
	}
	for i, sh := range got {
		local := sh.Start.In(newYork)
		if local.Weekday() != time.Monday || local.Hour() != 9 || local.Minute() != 0 {
			t.Errorf("shift %d starts %s, want a Monday 09:00 in New York", i, local)
		}
		if want := []string{"a", "b"}[i%2]; sh.Contact != want { // 02-26 is week 8
			t.Errorf("shift %d is %s's, want %s's", i, sh.Contact, want)
		}
	}
	checkTiling(t, s, from, to, nil, got)
}

func TestShiftsEmptyRange(t *testing.T) {
	s := mustSchedule(t, "UTC", "daily", 0, "09:00", "a")
	if got := s.Shifts(utc(2025, 4, 1, 0, 0), utc(2025, 4, 1, 0, 0), nil); got != nil {
		t.Errorf("Shifts of an empty range = %v", fmtShifts(got))
	}
	if got := s.Shifts(utc(2025, 4, 2, 0, 0), utc(2025, 4, 1, 0, 0), nil); got != nil {
		t.Errorf("Shifts of a backwards range = %v", fmtShifts(got))
	}
	if got := s.Shifts(utc(2025, 4, 1, 0, 0), utc(2025, 4, 1, 0, 1), nil); len(got) != 1 {
		t.Errorf("Shifts of one minute = %v, want the one shift", fmtShifts(got))
	}
}

// checkTiling asserts that shifts cover [from, to) without gaps or overlaps,
// none of them empty or outside it, and that OnCall agrees with each.
func checkTiling(t *testing.T, s *Schedule, from, to time.Time, overrides []bot.Override, shifts []Shift) {
	t.Helper()
	if len(shifts) == 0 {
		t.Fatal("no shifts")
	}
	if first := shifts[0]; first.Start.After(from) || !first.End.After(from) {
		t.Errorf("first shift %v does not cover %s", fmtShift(first), from)
	}
	if last := shifts[len(shifts)-1]; !last.Start.Before(to) || last.End.Before(to) {
		t.Errorf("last shift %v does not reach %s", fmtShift(last), to)
	}
	for i, sh := range shifts {
		if !sh.Start.Before(sh.End) {
			t.Errorf("shift %d is empty: %v", i, fmtShift(sh))
		}
		if i > 0 && !sh.Start.Equal(shifts[i-1].End) {
			t.Errorf("shift %d starts %s, the one before ends %s", i, sh.Start, shifts[i-1].End)
		}
		for _, tm := range []time.Time{sh.Start, sh.End.Add(-time.Nanosecond)} {
			if got := s.OnCall(tm, overrides); !sameShift(got, sh) {
				t.Errorf("OnCall(%s) = %v, Shifts says %v", tm, fmtShift(got), fmtShift(sh))
			}
		}
	}
}

func TestMulDurationSaturates(t *testing.T) {
	tests := []struct {
		k    int64
		d    time.Duration
		want time.Duration
	}{
		{3, time.Hour, 3 * time.Hour},
		{-1, time.Hour, -time.Hour},
		{0, time.Hour, 0},
		{1 << 40, time.Hour, 1<<63 - 1},
		{-(1 << 40), time.Hour, -1 << 63},
	}
	for _, tt := range tests {
		if got := mulDuration(tt.k, tt.d); got != tt.want {
			t.Errorf("mulDuration(%d, %v) = %d, want %d", tt.k, tt.d, got, tt.want)
		}
	}
}
