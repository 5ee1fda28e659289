// Sends Segment calls with Segment's own Node library (@segment/analytics-node) and reports
// what the library saw, for the test suite (tests/segment/test_analytics_node.py).
//
// stdin: one JSON job
//   {"host": "http://127.0.0.1:3000", "writeKey": "...", "gzip": false,
//    "flushAt": 15, "flushInterval": 10000, "maxRetries": 0,
//    "calls": [{"method": "track", "message": {"anonymousId": "...", "event": "..."}}, ...]}
// stdout: one JSON line
//   {"results": [{"method": "track", "messageId": "...", "event": {...}, "error": null}, ...],
//    "requests": [{"url": "...", "status": 200, "encoding": "identity", "messages": 3}, ...],
//    "errors": ["..."]}
//
// `event` is the message as the library built and sent it (messageId, timestamp, context).
// "gzip": true plugs in an HTTP client (the library's `httpClient` option) that compresses each
// body and says so with Content-Encoding: the library itself always sends identity bodies.
import { gzipSync } from 'node:zlib'
import { Analytics, FetchHTTPClient } from '@segment/analytics-node'

const METHODS = new Set(['track', 'page', 'screen', 'identify', 'group', 'alias'])

class GzipHTTPClient {
  async makeRequest(options) {
    const body = gzipSync(Buffer.from(options.body, 'utf8'))
    return fetch(options.url, {
      method: options.method,
      headers: { ...options.headers, 'Content-Encoding': 'gzip' },
      body,
      signal: AbortSignal.timeout(options.httpRequestTimeout),
    })
  }
}

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

async function main() {
  const job = await readStdin()
  const analytics = new Analytics({
    writeKey: job.writeKey,
    host: job.host,
    flushAt: job.flushAt ?? 15,
    flushInterval: job.flushInterval ?? 10000,
    maxRetries: job.maxRetries ?? 0,
    httpClient: job.gzip ? new GzipHTTPClient() : new FetchHTTPClient(),
  })
  const requests = []
  const errors = []
  const sent = []
  analytics.on('http_request', (request) => {
    sent.push({
      url: request.url,
      encoding: job.gzip ? 'gzip' : 'identity',
      messages: JSON.parse(request.body).batch.length,
    })
  })
  analytics.on('http_response', (response) => {
    requests.push({ ...sent.shift(), status: response.status })
  })
  analytics.on('error', (error) => {
    errors.push(String(error.reason ?? error.code ?? error))
  })
  const delivered = job.calls.map(
    (call) =>
      new Promise((resolve) => {
        if (!METHODS.has(call.method)) {
          resolve({ method: call.method, messageId: null, error: 'unknown method' })
          return
        }
        analytics[call.method](call.message, (error, ctx) => {
          resolve({
            method: call.method,
            messageId: ctx?.event?.messageId ?? null,
            event: ctx?.event ?? null,
            error: error ? String(error.reason ?? error.message ?? error) : null,
          })
        })
      })
  )
  await analytics.closeAndFlush({ timeout: job.timeoutMs ?? 60000 })
  const results = await Promise.all(delivered)
  process.stdout.write(JSON.stringify({ results, requests, errors }) + '\n')
}

main().catch((error) => {
  process.stderr.write(String(error?.stack ?? error) + '\n')
  process.exit(1)
})
