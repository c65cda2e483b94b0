// goregexp answers, for each line of JSON on stdin {"pattern": "...", "names": ["..."]}, one line
// {"error": "...", "matches": [true, false, ...]}: what Go's regexp (the engine Palette uses)
// says of the pattern and of each name (MatchString). The oracle of tests/unit/test_namespace_regex.py.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
)

type question struct {
	Pattern string   `json:"pattern"`
	Names   []string `json:"names"`
}

type answer struct {
	Error   string `json:"error,omitempty"`
	Matches []bool `json:"matches"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var q question
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			enc.Encode(answer{Error: "bad input: " + err.Error()})
			out.Flush()
			continue
		}
		re, err := regexp.Compile(q.Pattern)
		a := answer{Matches: []bool{}}
		if err != nil {
			a.Error = err.Error()
		} else {
			for _, n := range q.Names {
				a.Matches = append(a.Matches, re.MatchString(n))
			}
		}
		enc.Encode(a)
		out.Flush() // one answer per question: the asker waits for it
	}
}
