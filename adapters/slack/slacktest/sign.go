package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Sign is the X-Slack-Signature Slack sends with a request it makes to an
// app: v0=hex(HMAC-SHA256(signing secret, "v0:<timestamp>:<body>")), with the
// timestamp in X-Slack-Request-Timestamp.
func Sign(secret string, timestamp int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", timestamp, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}
