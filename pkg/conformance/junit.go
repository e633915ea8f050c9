package conformance

import (
	"encoding/xml"
	"fmt"
	"io"
)

// The JUnit XML shapes CI systems read (Jenkins, GitLab, GitHub actions'
// reporters): one testsuite per group, one testcase per check.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Skipped   int             `xml:"skipped,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr,omitempty"`
	Props     *junitProps     `xml:"properties,omitempty"`
	Cases     []junitTestcase `xml:"testcase"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Props     *junitProps   `xml:"properties,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: a testsuite per group and a
// testcase per check. A failed check carries a <failure> (the reason as its
// message, the evidence as its text); a skipped one a <skipped> with the
// reason; a check that met a 501 a <skipped type="not_implemented"> whose
// message starts "not implemented:". Every testcase has a property
// "verdict" (pass, fail, skip, not_implemented) for readers that keep
// properties, and passed checks keep their evidence in <system-out>.
func (r *Report) WriteJUnit(w io.Writer) error {
	all := junitSuites{Name: "interop conformance of " + r.BaseURL, Time: seconds(r.Duration.Seconds())}
	var durations []float64 // per suite
	for _, res := range r.Results {
		if len(all.Suites) == 0 || all.Suites[len(all.Suites)-1].Name != res.Group {
			all.Suites = append(all.Suites, junitSuite{Name: res.Group, Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05")})
			durations = append(durations, 0)
			if len(all.Suites) == 1 {
				all.Suites[0].Props = &junitProps{[]junitProp{{"base_url", r.BaseURL}}}
			}
		}
		s := &all.Suites[len(all.Suites)-1]
		tc := junitTestcase{
			Name: res.Name, Classname: "conformance." + res.Group, Time: seconds(res.Duration.Seconds()),
			Props: &junitProps{[]junitProp{{"verdict", string(res.Verdict)}}},
		}
		switch res.Verdict {
		case Fail:
			tc.Failure = &junitMessage{Message: oneLine(res.Reason), Type: "broken_promise", Text: res.Reason + "\n\nevidence:\n" + res.Evidence}
			s.Failures++
		case Skip:
			tc.Skipped = &junitMessage{Message: oneLine(res.Reason), Text: res.Evidence}
			s.Skipped++
		case NotImplemented:
			tc.Skipped = &junitMessage{Message: oneLine(res.Reason), Type: string(NotImplemented), Text: res.Evidence}
			s.Skipped++
		default:
			tc.SystemOut = res.Evidence
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
		durations[len(durations)-1] += res.Duration.Seconds()
	}
	for i := range all.Suites {
		s := &all.Suites[i]
		s.Time = seconds(durations[i])
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }
