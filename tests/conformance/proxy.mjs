// A bearer-token shim for the MCP conformance suite. The suite connects as an anonymous
// client, and rxgate refuses anonymous clients (401) by design; this proxy adds an `agent`
// token to every request and passes everything else through untouched — method, path,
// Host and Origin included, so the DNS-rebinding scenario still reaches rxgate's own
// checks. Usage: node proxy.mjs LISTEN_PORT TARGET_URL TOKEN
import http from "node:http";

const [listenPort, target, token] = process.argv.slice(2);
const upstream = new URL(target);

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${token}` };
  const forward = http.request(
    { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    },
  );
  forward.on("error", (e) => {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`proxy: ${e.message}`);
  });
  req.pipe(forward);
});
server.listen(Number(listenPort), "127.0.0.1", () => {
  console.log(`conformance proxy on http://127.0.0.1:${server.address().port}`);
});
