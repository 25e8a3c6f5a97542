// The sample alert mails under testdata/decode, the encoders that make them,
// and the tests that read them.

package mail

import (
	"bytes"
	"encoding/base64"
	"flag"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
)

var updateDecodeSamples = flag.Bool("update-decode", false, "rewrite testdata/decode/*.eml from decodeSamples")

const decodeSampleDir = "testdata/decode"

// decodeSample is an alert mail fixture: how it is made, and what Decode
// must read from it.
type decodeSample struct {
	file string
	crlf bool
	make func() string

	from, fromName string
	to             []string
	subject        string
	messageID      string
	date           string // RFC 3339; "" for the zero time
	text           []string
	notText        []string
	attachments    []string
	problems       []string // each a substring of one problem; nil: no problem at all
}

// decodeSamples are generated with golang.org/x/text so their bytes are what
// Japanese senders produce; the .eml files are committed so a failing test
// can be read. go test -run TestDecodeSamplesAreCurrent -update-decode
// rewrites them.
var decodeSamples = []decodeSample{
	{
		file: "zabbix_iso2022jp.eml", crlf: true,
		make: func() string {
			return "Return-Path: <zabbix@monitor.example.co.jp>\n" +
				"Received: from monitor.example.co.jp (monitor.example.co.jp [192.0.2.5])\n" +
				"\tby mx.example.co.jp (Postfix) with ESMTP id 4TDx1z2Q3R\n" +
				"\tfor <ops@example.co.jp>; Mon, 15 Jan 2024 10:23:46 +0900 (JST)\n" +
				"From: " + bWord("ISO-2022-JP", toJIS("Zabbix 監視サーバ")) + " <Zabbix@Monitor.Example.co.jp>\n" +
				"To: ops@example.co.jp\n" +
				"Cc: OnCall@Example.co.jp, ops@example.co.jp\n" +
				"Subject: " + bWord("ISO-2022-JP", toJIS("【障害】web01 ")) + "\n " +
				bWord("ISO-2022-JP", toJIS("ディスク使用率が90%を超えています")) + "\n" +
				"Date: Mon, 15 Jan 2024 10:23:45 +0900\n" +
				"Message-ID: <20240115012345.123456@monitor.example.co.jp>\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=ISO-2022-JP\n" +
				"Content-Transfer-Encoding: 7bit\n" +
				"\n" +
				toJIS("障害発生: web01 ディスク使用率が90%を超えています\n"+
					"発生日時: 2024.01.15 10:23:45\n"+
					"ホスト: web01\n"+
					"深刻度: 重度の障害\n"+
					"アイテム: /の空き容量 (8%)\n"+
					"イベントID: 987654\n")
		},
		from: "zabbix@monitor.example.co.jp", fromName: "Zabbix 監視サーバ",
		to:        []string{"ops@example.co.jp", "oncall@example.co.jp"},
		subject:   "【障害】web01 ディスク使用率が90%を超えています",
		messageID: "20240115012345.123456@monitor.example.co.jp",
		date:      "2024-01-15T10:23:45+09:00",
		text:      []string{"障害発生: web01 ディスク使用率が90%を超えています\n発生日時", "深刻度: 重度の障害", "イベントID: 987654"},
	},
	{
		file: "zabbix_recovery_iso2022jp.eml",
		make: func() string {
			return "From: " + bWord("ISO-2022-JP", toJIS("Zabbix 監視サーバ")) + " <zabbix@monitor.example.co.jp>\n" +
				"To: ops@example.co.jp\n" +
				"Subject: " + bWord("ISO-2022-JP", toJIS("【復旧】web01 ディスク使用率が90%を超えています")) + "\n" +
				"Date: Mon, 15 Jan 2024 11:05:10 +0900\n" +
				"Message-ID: <20240115020510.123457@monitor.example.co.jp>\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=\"iso-2022-jp\"\n" +
				"Content-Transfer-Encoding: 7bit\n" +
				"\n" +
				toJIS("復旧: web01 ディスク使用率が90%を超えています\n"+
					"復旧日時: 2024.01.15 11:05:10\n"+
					"障害継続時間: 41分 25秒\n"+
					"ホスト: web01\n"+
					"イベントID: 987654\n")
		},
		from: "zabbix@monitor.example.co.jp", fromName: "Zabbix 監視サーバ",
		to:        []string{"ops@example.co.jp"},
		subject:   "【復旧】web01 ディスク使用率が90%を超えています",
		messageID: "20240115020510.123457@monitor.example.co.jp",
		date:      "2024-01-15T11:05:10+09:00",
		text:      []string{"復旧: web01", "障害継続時間: 41分 25秒", "イベントID: 987654"},
	},
	{
		// A storage array's mail: Shift_JIS everywhere, quoted display name
		// made of an encoded-word, "ソ" whose second byte is a backslash,
		// NEC special characters, and a Date in "JST".
		file: "storage_shiftjis_qp.eml",
		make: func() string {
			return "From: \"" + bWord("Shift_JIS", toSJIS("ストレージ監視ソフト")) + "\" <storage-alert@dc1.example.co.jp>\n" +
				"To: infra@example.co.jp\n" +
				"Subject: " + bWord("Shift_JIS", toSJIS("【警告】storage01 RAIDグループ縮退 ①")) + "\n" +
				"Date: Mon, 15 Jan 2024 10:30:00 JST\n" +
				"Message-Id: <storage01.1705282200.42@dc1.example.co.jp>\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=Shift_JIS\n" +
				"Content-Transfer-Encoding: quoted-printable\n" +
				"\n" +
				qpLines(toSJIS("ストレージ装置からの通知です。\n"+
					"装置名: storage01\n"+
					"事象: RAIDグループ RG-01 が縮退状態になりました (ディスク① 故障)\n"+
					"発生日時: 2024/01/15 10:30:00\n"+
					"対処: 保守窓口 (㈱サンプル 0120-000-000) へ連絡してください。\n"+
					"送信元: ストレージ監視ソフト 表示名 storage01\n"))
		},
		from: "storage-alert@dc1.example.co.jp", fromName: "ストレージ監視ソフト",
		to:        []string{"infra@example.co.jp"},
		subject:   "【警告】storage01 RAIDグループ縮退 ①",
		messageID: "storage01.1705282200.42@dc1.example.co.jp",
		date:      "2024-01-15T10:30:00+09:00",
		text:      []string{"RAIDグループ RG-01 が縮退状態になりました (ディスク① 故障)", "㈱サンプル", "送信元: ストレージ監視ソフト 表示名 storage01"},
	},
	{
		// Encoders that cut a subject into words mid-character (Shift_JIS)
		// or without returning to ASCII (ISO-2022-JP).
		file: "split_encoded_words.eml", crlf: true,
		make: func() string {
			subject := toSJIS("【障害】サーバ停止 app03")
			name := toJIS("アプリ監視")
			return "From: " + bWord("ISO-2022-JP", name[:7]) + " " + bWord("ISO-2022-JP", name[7:]) + " <appmon@example.co.jp>\n" +
				"To: ops@example.co.jp\n" +
				"Subject: " + bWord("Shift_JIS", subject[:5]) + "\n\t" + bWord("shift_jis", subject[5:]) + "\n" +
				"Date: Tue, 16 Jan 2024 08:00:00 +0900\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=Shift_JIS\n" +
				"Content-Transfer-Encoding: 8bit\n" +
				"\n" +
				toSJIS("app03 のプロセスが停止しました。\n")
		},
		from: "appmon@example.co.jp", fromName: "アプリ監視",
		to:      []string{"ops@example.co.jp"},
		subject: "【障害】サーバ停止 app03",
		date:    "2024-01-16T08:00:00+09:00",
		text:    []string{"app03 のプロセスが停止しました。"},
	},
	{
		file: "alertmanager_utf8_base64.eml",
		make: func() string {
			return "From: Alertmanager <alertmanager@prom.example.com>\n" +
				"To: \"On-call\" <oncall@example.com>\n" +
				"Subject: " + mime.QEncoding.Encode("UTF-8", "[FIRING:1] CPU使用率高騰 web02 (node-exporter critical)") + "\n" +
				"Date: Mon, 15 Jan 2024 02:00:00 +0000\n" +
				"Message-Id: <1705284000123456789.42@prom.example.com>\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=UTF-8\n" +
				"Content-Transfer-Encoding: base64\n" +
				"\n" +
				base64Lines("[FIRING:1] HighCPU (web02 node-exporter critical)\n\n"+
					"アラート: HighCPU\n"+
					"概要: web02 の CPU 使用率が 5 分間 95% を超えています\n"+
					"ラベル:\n - instance = web02:9100\n - severity = critical\n")
		},
		from: "alertmanager@prom.example.com", fromName: "Alertmanager",
		to:        []string{"oncall@example.com"},
		subject:   "[FIRING:1] CPU使用率高騰 web02 (node-exporter critical)",
		messageID: "1705284000123456789.42@prom.example.com",
		date:      "2024-01-15T02:00:00Z",
		text:      []string{"概要: web02 の CPU 使用率が 5 分間 95% を超えています", " - severity = critical"},
	},
	{
		// The boundary is unquoted and holds "=": mime.ParseMediaType
		// refuses the whole field for it.
		file: "alternative_text_html.eml", crlf: true,
		make: func() string {
			return "From: Mackerel <alerts@mackerel.example>\n" +
				"To: ops@example.com\n" +
				"Subject: [Mackerel] [CRITICAL] web03 - Load Average\n" +
				"Date: Mon, 15 Jan 2024 12:00:00 +0900\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: multipart/alternative; boundary=----=_Part_42_1705287600\n" +
				"\n" +
				"This is a multi-part message in MIME format.\n" +
				"------=_Part_42_1705287600\n" +
				"Content-Type: text/plain; charset=UTF-8\n" +
				"Content-Transfer-Encoding: 8bit\n" +
				"\n" +
				"[CRITICAL] web03 Load Average 12.5 > 8\n" +
				"ホスト: web03\n" +
				"------=_Part_42_1705287600\n" +
				"Content-Type: text/html; charset=UTF-8\n" +
				"Content-Transfer-Encoding: quoted-printable\n" +
				"\n" +
				qpLines("<html><body><p>HTML ONLY VERSION <b>web03</b></p></body></html>\n") +
				"------=_Part_42_1705287600--\n"
		},
		from: "alerts@mackerel.example", fromName: "Mackerel",
		to:      []string{"ops@example.com"},
		subject: "[Mackerel] [CRITICAL] web03 - Load Average",
		date:    "2024-01-15T12:00:00+09:00",
		text:    []string{"[CRITICAL] web03 Load Average 12.5 > 8\nホスト: web03"},
		notText: []string{"HTML ONLY VERSION", "multi-part message"},
	},
	{
		file: "mixed_attachments.eml", crlf: true,
		make: func() string {
			return "From: report@batch.example.co.jp\n" +
				"To: ops@example.co.jp\n" +
				"Subject: " + bWord("ISO-2022-JP", toJIS("【警告】日次ディスク使用量レポート")) + "\n" +
				"Date: Tue, 16 Jan 2024 06:00:00 +0900\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: multipart/mixed; boundary=\"mixed-b1\"\n" +
				"\n" +
				"--mixed-b1\n" +
				"Content-Type: multipart/alternative; boundary=\"alt-b2\"\n" +
				"\n" +
				"--alt-b2\n" +
				"Content-Type: text/plain; charset=ISO-2022-JP\n" +
				"Content-Transfer-Encoding: 7bit\n" +
				"\n" +
				toJIS("web01 の / が 92% です。詳細は添付を参照してください。\n") +
				"--alt-b2\n" +
				"Content-Type: text/html; charset=ISO-2022-JP\n" +
				"\n" +
				toJIS("<p>web01 の / が <b>92%</b> です。</p>\n") +
				"--alt-b2--\n" +
				"\n" +
				"--mixed-b1\n" +
				"Content-Type: application/pdf; name=\"report.pdf\"\n" +
				"Content-Disposition: attachment; filename=\"report.pdf\"\n" +
				"Content-Transfer-Encoding: base64\n" +
				"\n" +
				base64Lines("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nPDF SECRET CONTENT\n%%EOF\n") +
				"--mixed-b1\n" +
				"Content-Type: text/csv; charset=UTF-8\n" +
				"Content-Disposition: attachment; filename*=UTF-8''%E3%83%87%E3%82%A3%E3%82%B9%E3%82%AF%E4%BD%BF%E7%94%A8%E9%87%8F.csv\n" +
				"\n" +
				"host,mount,usage\nweb01,/,92\n" +
				"--mixed-b1\n" +
				"Content-Type: text/plain; charset=ISO-2022-JP; name=\"" + bWord("ISO-2022-JP", toJIS("手順書.txt")) + "\"\n" +
				"\n" +
				toJIS("手順書の本文\n") +
				"--mixed-b1--\n"
		},
		from:        "report@batch.example.co.jp",
		to:          []string{"ops@example.co.jp"},
		subject:     "【警告】日次ディスク使用量レポート",
		date:        "2024-01-16T06:00:00+09:00",
		text:        []string{"web01 の / が 92% です。詳細は添付を参照してください。"},
		notText:     []string{"<p>", "PDF SECRET CONTENT", "web01,/,92", "手順書の本文"},
		attachments: []string{"report.pdf", "ディスク使用量.csv", "手順書.txt"},
	},
	{
		file: "html_only_japanese.eml",
		make: func() string {
			return "From: =?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("クラウド監視")) + "?= <noreply@cloudwatch.example.jp>\n" +
				"To: ops@example.co.jp\n" +
				"Subject: =?UTF-8?Q?=E3=80=90=E9=87=8D=E8=A6=81=E3=80=91?= =?UTF-8?Q?db01_=E5=BF=9C=E7=AD=94=E3=81=AA=E3=81=97?=\n" +
				"Date: Mon, 15 Jan 2024 13:00:00 +0900\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/html; charset=UTF-8\n" +
				"Content-Transfer-Encoding: quoted-printable\n" +
				"\n" +
				qpLines("<!DOCTYPE html>\n<html><head><title>通知タイトル</title>\n"+
					"<style>p { color: red; } .secret { display: none }</style>\n"+
					"<script>var tracking = \"SCRIPT TEXT\";</script></head>\n"+
					"<body><h1>【重要】db01 応答なし</h1>\n"+
					"<p>データベース   サーバが\n    応答していません。<br>至急確認してください&nbsp;&amp;&nbsp;報告をお願いします。</p>\n"+
					"<table><tr><th>項目</th><th>値</th></tr>\n"+
					"<tr><td>ホスト名</td><td>db01</td></tr>\n"+
					"<tr><td>状態</td><td>&lt;DOWN&gt;</td></tr></table>\n"+
					"<ul><li>ping 失敗</li><li>ポート 5432 応答なし</li></ul>\n"+
					"<p><a href=\"https://console.example.jp/alarms/db01\">詳細を見る</a></p>\n"+
					"</body></html>\n")
		},
		from: "noreply@cloudwatch.example.jp", fromName: "クラウド監視",
		to:      []string{"ops@example.co.jp"},
		subject: "【重要】db01 応答なし",
		date:    "2024-01-15T13:00:00+09:00",
		text: []string{
			"【重要】db01 応答なし\n\nデータベース サーバが 応答していません。\n至急確認してください & 報告をお願いします。",
			"項目\t値\nホスト名\tdb01\n状態\t<DOWN>",
			"- ping 失敗\n- ポート 5432 応答なし",
			"詳細を見る (https://console.example.jp/alarms/db01)",
		},
		notText: []string{"通知タイトル", "SCRIPT TEXT", "color: red", "&amp;", "<p>"},
	},
	{
		// Nagios mails through /usr/bin/mail: no MIME headers at all.
		file: "nagios_problem.eml",
		make: func() string {
			return "From: nagios@monitor.example.com\n" +
				"To: oncall@example.com\n" +
				"Subject: ** PROBLEM Service Alert: web01/HTTP is CRITICAL **\n" +
				"Date: Mon, 15 Jan 2024 01:23:45 +0000 (UTC)\n" +
				"Message-Id: <20240115012345.A1B2C3@monitor.example.com>\n" +
				"\n" +
				"***** Nagios *****\n\n" +
				"Notification Type: PROBLEM\n\n" +
				"Service: HTTP\nHost: web01\nAddress: 192.0.2.10\nState: CRITICAL\n\n" +
				"Date/Time: Mon Jan 15 01:23:45 UTC 2024\n\n" +
				"Additional Info:\n\n" +
				"CRITICAL - Socket timeout after 10 seconds\n"
		},
		from:      "nagios@monitor.example.com",
		to:        []string{"oncall@example.com"},
		subject:   "** PROBLEM Service Alert: web01/HTTP is CRITICAL **",
		messageID: "20240115012345.A1B2C3@monitor.example.com",
		date:      "2024-01-15T01:23:45Z",
		text:      []string{"***** Nagios *****", "Host: web01\nAddress: 192.0.2.10\nState: CRITICAL", "CRITICAL - Socket timeout after 10 seconds"},
	},
	{
		file: "cron_no_subject.eml",
		make: func() string {
			return "From: root@web01.example.com (Cron Daemon)\n" +
				"To: root@web01.example.com\n" +
				"Date: Mon, 15 Jan 2024 03:00:01 +0900\n" +
				"Content-Type: text/plain; charset=UTF-8\n" +
				"\n" +
				"/etc/cron.daily/backup: rsync error: some files could not be transferred (code 23)\n"
		},
		from: "root@web01.example.com", fromName: "Cron Daemon",
		to:   []string{"root@web01.example.com"},
		date: "2024-01-15T03:00:01+09:00",
		text: []string{"rsync error: some files could not be transferred (code 23)"},
	},
	{
		// An old UPS card: raw Shift_JIS in the subject, no encoded-word.
		file: "raw_shiftjis_subject.eml", crlf: true,
		make: func() string {
			return "From: ups01@example.co.jp\n" +
				"To: facility@example.co.jp\n" +
				"Subject: " + toSJIS("【障害】UPS01 バッテリ運転に切替") + "\n" +
				"Date: Mon, 15 Jan 2024 14:00:00 +0900\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=Shift_JIS\n" +
				"Content-Transfer-Encoding: 8bit\n" +
				"\n" +
				toSJIS("商用電源の停電を検出しました。バッテリ残量 85%\n")
		},
		from:     "ups01@example.co.jp",
		to:       []string{"facility@example.co.jp"},
		subject:  "【障害】UPS01 バッテリ運転に切替",
		date:     "2024-01-15T14:00:00+09:00",
		text:     []string{"商用電源の停電を検出しました。バッテリ残量 85%"},
		problems: []string{"Subject has unencoded 8-bit bytes; read as shift_jis"},
	},
	{
		// An appliance that writes ISO-2022-JP and declares nothing.
		file: "raw_iso2022jp_no_charset.eml",
		make: func() string {
			return "From: \"PDU\" <pdu02@example.co.jp>\n" +
				"To: facility@example.co.jp\n" +
				"Subject: " + toJIS("【警告】PDU02 電流値 上限超過") + "\n" +
				"Date: Mon, 15 Jan 2024 15:00:00 +0900\n" +
				"\n" +
				toJIS("ラック A-12 の電流値が 15.2A (上限 15A) です。\n")
		},
		from: "pdu02@example.co.jp", fromName: "PDU",
		to:      []string{"facility@example.co.jp"},
		subject: "【警告】PDU02 電流値 上限超過",
		date:    "2024-01-15T15:00:00+09:00",
		text:    []string{"ラック A-12 の電流値が 15.2A (上限 15A) です。"},
		problems: []string{
			"Subject has unencoded ISO-2022-JP",
			"ISO-2022-JP text without that charset declared",
		},
	},
	{
		// Declared quoted-printable, but the ISO-2022-JP escapes are raw.
		file: "iso2022jp_qp_raw_escapes.eml",
		make: func() string {
			return "From: sensor@example.co.jp\n" +
				"To: facility@example.co.jp\n" +
				"Subject: " + bWord("ISO-2022-JP", toJIS("【注意】サーバ室 温度上昇")) + "\n" +
				"Content-Type: text/plain; charset=ISO-2022-JP\n" +
				"Content-Transfer-Encoding: quoted-printable\n" +
				"\n" +
				toJIS("サーバ室の温度が 30℃ を超えました。") + "=\n" + toJIS(" 空調を確認してください。\n")
		},
		from:    "sensor@example.co.jp",
		to:      []string{"facility@example.co.jp"},
		subject: "【注意】サーバ室 温度上昇",
		text:    []string{"サーバ室の温度が 30℃ を超えました。 空調を確認してください。"},
	},
	{
		file: "broken_no_closing_boundary.eml", crlf: true,
		make: func() string {
			return "From: backup@example.com\n" +
				"To: ops@example.com\n" +
				"Subject: [FAILED] nightly backup db01\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: multipart/mixed; boundary=\"XyZ\"\n" +
				"\n" +
				"--XyZ\n" +
				"Content-Type: text/plain; charset=us-ascii\n" +
				"\n" +
				"Backup of db01 failed: disk full on /backup\n" +
				"--XyZ\n" +
				"Content-Type: application/gzip; name=\"backup.log.gz\"\n" +
				"Content-Transfer-Encoding: base64\n" +
				"\n" +
				"H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==\n" +
				"H4sIAAAAAAAAA8tIzcnJ\n"
		},
		from:        "backup@example.com",
		to:          []string{"ops@example.com"},
		subject:     "[FAILED] nightly backup db01",
		text:        []string{"Backup of db01 failed: disk full on /backup"},
		attachments: []string{"backup.log.gz"},
		problems:    []string{"multipart/mixed ends without its closing boundary"},
	},
	{
		file: "broken_wrong_boundary.eml",
		make: func() string {
			return "From: alert@legacy.example.com\n" +
				"To: ops@example.com\n" +
				"Subject: DISK ALERT legacy01\n" +
				"MIME-Version: 1.0\n" +
				"Content-Type: multipart/mixed; boundary=\"declared-boundary\"\n" +
				"\n" +
				"--actual-boundary\n" +
				"Content-Type: text/plain\n" +
				"\n" +
				"legacy01: /var is 98% full\n" +
				"--actual-boundary--\n"
		},
		from:     "alert@legacy.example.com",
		to:       []string{"ops@example.com"},
		subject:  "DISK ALERT legacy01",
		text:     []string{"legacy01: /var is 98% full"},
		problems: []string{`has no part delimited by boundary "declared-boundary"; its body read as text`},
	},
	{
		file: "broken_base64.eml",
		make: func() string {
			body := base64Lines("Job batch-17 exited with status 2\nログを確認してください\n")
			return "From: jobs@example.com\n" +
				"To: ops@example.com\n" +
				"Subject: batch-17 failed\n" +
				"Content-Type: text/plain; charset=utf-8\n" +
				"Content-Transfer-Encoding: base64\n" +
				"\n" +
				body[:32] + "*%*" + body[32:]
		},
		from:     "jobs@example.com",
		to:       []string{"ops@example.com"},
		subject:  "batch-17 failed",
		text:     []string{"Job batch-17 exited"},
		notText:  []string{"ログを確認してください"},
		problems: []string{"corrupt base64 at byte 32"},
	},
	{
		file: "unknown_charset.eml",
		make: func() string {
			return "From: probe@example.com\n" +
				"To: ops@example.com\n" +
				"Subject: =?x-foo?Q?Disk_alert_web01?=\n" +
				"Content-Type: text/plain; charset=x-foo\n" +
				"Content-Transfer-Encoding: 8bit\n" +
				"\n" +
				"Alert: d\xe9faillance disque sur web01\n"
		},
		from:    "probe@example.com",
		to:      []string{"ops@example.com"},
		subject: "Disk alert web01",
		text:    []string{"Alert: d\uFFFDfaillance disque sur web01"},
		problems: []string{
			"unknown charset x-foo; invalid bytes replaced",
			"unknown charset x-foo in Subject",
		},
	},
}

func TestDecodeSamplesAreCurrent(t *testing.T) {
	if *updateDecodeSamples {
		if err := os.MkdirAll(decodeSampleDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range decodeSamples {
		want := s.bytes()
		path := filepath.Join(decodeSampleDir, s.file)
		if *updateDecodeSamples {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update-decode to write the samples)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what its decodeSample makes; run with -update-decode", path)
		}
	}
}

func (s decodeSample) bytes() []byte {
	m := s.make()
	if s.crlf {
		m = strings.ReplaceAll(m, "\n", "\r\n")
	}
	return []byte(m)
}

func TestDecodeSamples(t *testing.T) {
	for _, s := range decodeSamples {
		t.Run(s.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(decodeSampleDir, s.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkMessage(t, m)
			if m.From != s.from || m.FromName != s.fromName {
				t.Errorf("From = %q, %q; want %q, %q", m.From, m.FromName, s.from, s.fromName)
			}
			if !slices.Equal(m.To, s.to) {
				t.Errorf("To = %q; want %q", m.To, s.to)
			}
			if m.Subject != s.subject {
				t.Errorf("Subject = %q; want %q", m.Subject, s.subject)
			}
			if m.MessageID != s.messageID {
				t.Errorf("MessageID = %q; want %q", m.MessageID, s.messageID)
			}
			gotDate := ""
			if !m.Date.IsZero() {
				gotDate = m.Date.Format(time.RFC3339)
			}
			if gotDate != s.date {
				t.Errorf("Date = %q; want %q", gotDate, s.date)
			}
			for _, want := range s.text {
				if !strings.Contains(m.Text, want) {
					t.Errorf("Text does not contain %q; Text:\n%s", want, m.Text)
				}
			}
			for _, not := range s.notText {
				if strings.Contains(m.Text, not) {
					t.Errorf("Text contains %q; Text:\n%s", not, m.Text)
				}
			}
			if !slices.Equal(m.Attachments, s.attachments) {
				t.Errorf("Attachments = %q; want %q", m.Attachments, s.attachments)
			}
			checkProblems(t, m.Problems, s.problems)
		})
	}
}

// Encoders for the samples.

func toJIS(s string) string  { return encodeSample(japanese.ISO2022JP, s) }
func toSJIS(s string) string { return encodeSample(japanese.ShiftJIS, s) }

func encodeSample(e encoding.Encoding, s string) string {
	out, err := e.NewEncoder().String(s)
	if err != nil {
		panic(err) // a sample with a character the charset lacks
	}
	return out
}

func bWord(charset, raw string) string {
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString([]byte(raw)) + "?="
}

func base64Lines(raw string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(raw))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	return b.String()
}

func qpLines(raw string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write([]byte(raw)); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return strings.ReplaceAll(b.String(), "\r\n", "\n")
}
