// Package har reads HTTP Archive (HAR 1.2) recordings, as browser developer
// tools, mitmproxy and Charles export them, one entry at a time: the
// document is streamed, so memory holds one entry, not the file.
//
// A HAR holds the bodies decoded: an answer's content.text is what the
// server sent once its Content-Encoding was undone (base64 when
// content.encoding says so), so Read drops Content-Encoding from the
// answer's headers. HTTP/2 pseudo-headers (":status", ":path") are dropped
// too.
package har
