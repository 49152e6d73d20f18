import asyncio, time
from bench.common import scratch_database
from services.cdp.collector import collect
from services.cdp.store import CdpStore
from services.cdp.tracker import parse_payload, parse_events
from supervisor.store.db import create_pool

async def main():
    async with scratch_database("prof2") as dsn:
        pool = await create_pool(dsn, min_size=6, max_size=6)
        store = CdpStore(pool)
        async def client(c):
            for n in range(40):
                p = parse_payload({"source": {"id": "web"}, "session": {"id": f"c{c}-s{n//5}"}, "profile": {"id": f"c{c}-p{n//20}"}, "events": [{"type": "page-view", "properties": {"i": i}} for i in range(10)]})
                g, r = parse_events(p.events)
                await collect(store, p, g, r)
        t = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(50)))
        print(f"{50*40*10/(time.perf_counter()-t):.0f} events/s in process")
        await pool.close()
asyncio.run(main())
