"""The sans-I/O core of the driver.

Responsibility: every rule of HTTP.sys that can be stated without I/O (URL prefixes, routing, canonicalization,
canned responses, header generation, ranges, limits, timers, object records). It must not touch sockets,
asyncio, threads or the clock: time is passed in and deadlines are returned.
"""
