-- POST echo scenario: every request carries a 1 KiB body (wrk adds the Content-Length).
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
