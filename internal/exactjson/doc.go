// Package exactjson holds the check that makes encoding/json decode only the
// document a validator saw. encoding/json fills a struct field from a key
// that matches its name exactly or, failing that, without regard to case
// (Unicode simple folding: "STATUS", "Status" and "ſtatus" all fill
// "status"), and the last such key wins. A schema validator reads keys
// exactly, so {"status":"retry","STATUS":"success"} passes the schema as a
// retry and decodes as a success, and a "MESSAGE" of any length fills a
// message whose length the schema bounds. Check finds such keys before the
// decoder runs, guided by the Go type the document is about to fill.
package exactjson
