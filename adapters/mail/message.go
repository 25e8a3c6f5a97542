package mail

import "time"

// Message is an alert mail as Hotline reads it: the parts rules match on,
// decoded to UTF-8 whatever the sender's charset and transfer encoding.
// Decode fills it; what could not be decoded is named in Problems and the
// rest is kept, so a half-broken alert mail still opens an incident.
type Message struct {
	MessageID string    // without angle brackets; "" when absent
	From      string    // the sender's address, lower case
	FromName  string    // the display name, decoded
	To        []string  // To and Cc addresses, lower case
	Subject   string    // decoded encoded-words, one line
	Date      time.Time // zero when absent or unreadable
	// Text is the body as text: the text/plain part, else the HTML part
	// reduced to text, else what could be read. At most MaxText bytes.
	Text        string
	Attachments []string // file names of parts that are not the body
	Problems    []string // what could not be decoded, for the timeline and logs
}

// MaxText caps Message.Text; the raw message is kept whole with the alert.
const MaxText = 64 << 10
