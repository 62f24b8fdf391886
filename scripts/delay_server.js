// S6's Node.js peer of examples/delay.rs (scripts/bench.sh): every request
// is answered `Hello, World!` 100 ms later, by setTimeout.
//
// usage: node scripts/delay_server.js [PORT]   (0, the default, picks one)
"use strict";
const http = require("http");

const server = http.createServer((req, res) => {
  setTimeout(() => {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": 13 });
    res.end("Hello, World!");
  }, 100);
});
// Keep-alive as long as coffeeweb's (Node's default closes after 5 s idle).
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  console.log(`node listening on http://127.0.0.1:${server.address().port}`);
});
