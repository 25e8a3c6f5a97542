package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hotline-dev/hotline/bot"
)

// LoadConfig reads the file at path, expands ${VAR} from the environment,
// applies defaults and validates. Any problem comes back as a *ConfigError
// naming all of them.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := ParseConfig(data, os.Getenv)
	if err == nil {
		c.ApplyDefaults()
		err = c.Validate()
	}
	if err != nil {
		if ce, ok := errors.AsType[*ConfigError](err); ok {
			ce.File = path
		}
		return nil, err
	}
	return c, nil
}

// ParseConfig expands ${VAR} and ${VAR:-default} in data with getenv (nil:
// os.Getenv), then decodes it strictly: unknown keys and values of the wrong
// type are all reported, with their line and path. It neither applies
// defaults nor validates. Empty data is an empty config.
func ParseConfig(data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	expanded, unset := expandConfigEnv(data, getenv)

	var root yaml.Node
	if err := yaml.Unmarshal(expanded, &root); err != nil {
		return nil, &ConfigError{Problems: bot.Problems{strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	index := indexConfigNodes(&root)

	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if errors.Is(err, io.EOF) {
		err = nil // an empty file or only comments
	} else if err == nil {
		var extra yaml.Node
		if dec.Decode(&extra) != io.EOF {
			err = errors.New("the file holds more than one YAML document")
		}
	}
	if err != nil {
		var problems bot.Problems
		if te, ok := errors.AsType[*yaml.TypeError](err); ok {
			for _, msg := range te.Errors {
				problems = append(problems, index.explain(msg))
			}
		} else {
			problems = append(problems, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil, &ConfigError{Problems: problems}
	}

	for _, ref := range unset {
		if path, ok := index.scalarAt(ref.line, ref.col); ok {
			if c.unsetEnv == nil {
				c.unsetEnv = map[string][]string{}
			}
			c.unsetEnv[path] = append(c.unsetEnv[path], ref.name)
		}
	}
	return c, nil
}

// envRef is a ${VAR} that was unset, at its position in the expanded text
// (1-based; the column counts runes, as yaml.v3 does).
type envRef struct {
	name      string
	line, col int
}

var configEnvNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandConfigEnv replaces ${VAR} and ${VAR:-default} (default when unset or
// empty). Anything else, a lone $ included, is kept as written so that
// passwords with a $ in them survive.
func expandConfigEnv(src []byte, getenv func(string) string) ([]byte, []envRef) {
	var (
		out       bytes.Buffer
		unset     []envRef
		line, col = 1, 1
	)
	write := func(s string) {
		out.WriteString(s)
		for _, r := range s {
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
	}
	s := string(src)
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			write(s)
			break
		}
		write(s[:i])
		s = s[i:]
		end := strings.IndexAny(s, "}\n")
		if end < 0 || s[end] != '}' {
			write("$")
			s = s[1:]
			continue
		}
		name, def, hasDefault := strings.Cut(s[2:end], ":-")
		if !configEnvNamePattern.MatchString(name) {
			write("$")
			s = s[1:]
			continue
		}
		value := getenv(name)
		if value == "" && hasDefault {
			value = def
		}
		if value == "" && !hasDefault {
			unset = append(unset, envRef{name: name, line: line, col: col})
		}
		write(value)
		s = s[end+1:]
	}
	return out.Bytes(), unset
}

// configNode is one node of the parsed file with its path in the file.
type configNode struct {
	line, col int
	path      string
	key       bool
	node      *yaml.Node
}

// configIndex turns yaml.v3's "line N: ..." into "line N: path: ...".
type configIndex []configNode // in document order

func indexConfigNodes(root *yaml.Node) configIndex {
	var idx configIndex
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind != yaml.DocumentNode {
			idx = append(idx, configNode{line: n.Line, col: n.Column, path: path, node: n})
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				idx = append(idx, configNode{line: k.Line, col: k.Column, path: p, key: true, node: k})
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(root, "")
	sort.SliceStable(idx, func(i, j int) bool {
		if idx[i].line != idx[j].line {
			return idx[i].line < idx[j].line
		}
		return idx[i].col < idx[j].col
	})
	return idx
}

// scalarAt is the path of the value that holds the text at line:col: the
// last scalar starting at or before it.
func (idx configIndex) scalarAt(line, col int) (string, bool) {
	for i := len(idx) - 1; i >= 0; i-- {
		n := idx[i]
		if n.line > line || (n.line == line && n.col > col) || n.node.Kind != yaml.ScalarNode {
			continue
		}
		return n.path, !n.key
	}
	return "", false
}

var (
	yamlErrLine         = regexp.MustCompile(`^line (\d+)(?: column (\d+))?: (.*)$`)
	yamlErrUnknownField = regexp.MustCompile(`^field (.*) not found in type (\S+)$`)
	yamlErrWrongType    = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
	yamlErrDuplicateKey = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// explain rewrites one of yaml.v3's decode errors in the file's own terms.
func (idx configIndex) explain(msg string) string {
	m := yamlErrLine.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	where, rest := "line "+m[1]+": ", m[3]
	pick := func(match func(configNode) bool) *configNode {
		var found *configNode
		for i := range idx {
			if idx[i].line == line && match(idx[i]) {
				if found != nil {
					return nil // two candidates on one line: do not guess
				}
				found = &idx[i]
			}
		}
		return found
	}
	withPath := func(n *configNode, text string) string {
		if n == nil || n.path == "" {
			return where + text
		}
		return where + n.path + ": " + text
	}

	if m[2] != "" { // our own Duration errors carry the exact column
		col, _ := strconv.Atoi(m[2])
		return withPath(pick(func(n configNode) bool { return !n.key && n.col == col }), rest)
	}
	if f := yamlErrUnknownField.FindStringSubmatch(rest); f != nil {
		n := pick(func(n configNode) bool { return n.key && n.node.Value == f[1] })
		text := "unknown key"
		if n == nil {
			text = fmt.Sprintf("unknown key %q", f[1])
		}
		if known := configKeysOf(f[2]); len(known) > 0 {
			text += " (known: " + strings.Join(known, ", ") + ")"
		}
		return withPath(n, text)
	}
	if f := yamlErrDuplicateKey.FindStringSubmatch(rest); f != nil {
		n := pick(func(n configNode) bool { return n.key && n.node.Value == f[1] })
		return withPath(n, "key already set at line "+f[2])
	}
	if f := yamlErrWrongType.FindStringSubmatch(rest); f != nil {
		tag, shown, into := f[1], f[2], f[3]
		n := pick(func(n configNode) bool {
			if n.key || strings.TrimPrefix(n.node.ShortTag(), "!!") != tag {
				return false
			}
			if v, truncated := strings.CutSuffix(shown, "..."); truncated {
				return strings.HasPrefix(n.node.Value, v)
			}
			return shown == "" || n.node.Value == shown
		})
		got := "!!" + tag
		if n != nil {
			got = describeConfigNode(n.node)
		} else if shown != "" {
			got = "`" + shown + "`"
		}
		return withPath(n, fmt.Sprintf("want %s, got %s", describeConfigGoType(into), got))
	}
	return msg
}

func describeConfigNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	return strconv.Quote(n.Value)
}

func describeConfigGoType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "main."):
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	}
	return "a single value"
}

// configKeysOf lists the YAML keys of the config struct named like
// "main.HTTPConfig" in yaml.v3's errors.
func configKeysOf(typeName string) []string {
	seen := map[reflect.Type]bool{}
	var find func(t reflect.Type) reflect.Type
	find = func(t reflect.Type) reflect.Type {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return nil
		}
		seen[t] = true
		if t.String() == typeName {
			return t
		}
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				if found := find(t.Field(i).Type); found != nil {
					return found
				}
			}
		}
		return nil
	}
	t := find(reflect.TypeFor[Config]())
	if t == nil {
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}
