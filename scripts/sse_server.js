// S7's Node.js peer of examples/sse.rs (scripts/bench.sh): `GET /events`
// subscribes to a stream on which every subscriber receives the same event
// once a second, from one timer; `POST /publish` sends its body as an event
// to every subscriber. A tick's data carries the time it was sent
// (`sent_us`, microseconds since the epoch), as examples/sse.rs's does.
//
// usage: node scripts/sse_server.js [PORT]   (0, the default, picks one)
"use strict";
const http = require("http");
const { performance } = require("perf_hooks");

const subscribers = new Set();

function broadcast(text) {
  for (const res of subscribers) res.write(text);
  return subscribers.size;
}

let tick = 0;
setInterval(() => {
  tick += 1;
  const sentUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
  const unix = Math.floor(sentUs / 1e6);
  broadcast(`id: ${tick}\ndata: {"tick":${tick},"unix":${unix},"sent_us":${sentUs}}\n\n`);
}, 1000);

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/events") {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    res.flushHeaders();
    subscribers.add(res);
    res.on("close", () => subscribers.delete(res));
  } else if (req.method === "POST" && req.url === "/publish") {
    const parts = [];
    req.on("data", (part) => parts.push(part));
    req.on("end", () => {
      const data = Buffer.concat(parts).toString().split("\n").map((l) => `data: ${l}\n`).join("");
      res.end(`sent to ${broadcast(data + "\n")} subscribers\n`);
    });
  } else {
    res.writeHead(404).end();
  }
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  console.log(`node listening on http://127.0.0.1:${server.address().port}`);
});
