"""A tiny web app: answers every GET with a greeting and the container's hostname."""

import http.server
import socket


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"Hello from Python in container {socket.gethostname()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Hello).serve_forever()
