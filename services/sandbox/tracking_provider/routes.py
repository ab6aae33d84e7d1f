"""The tracking provider's HTTP endpoints: subscribe a number (poll) and query it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.sandbox.tracking_provider.provider import TrackingProvider
from services.sandbox.tracking_provider.requests import Refusal, read_subscription, result

router = APIRouter(prefix="/kuaidi100", tags=["tracking provider"])


@router.post("/poll", summary="Subscribe a waybill number (callback pushes)")
async def poll(request: Request) -> JSONResponse:
    provider: TrackingProvider = request.app.state.world.tracking
    faults = provider.faults
    await faults.delay("kuaidi100.poll")
    if faults.error("kuaidi100.poll"):
        return JSONResponse(result("500", "服务器错误 (provider error)"))
    form = await request.form()
    try:
        provider.accept(
            read_subscription(form.get("schema", "json"), form.get("param"), provider.settings.kuaidi100_key)
        )
    except Refusal as exc:
        return JSONResponse(exc.body())
    return JSONResponse(result("200", "提交成功", ok=True))


@router.post("/poll/query.do", summary="Query a number's tracking now (polling, rate limited)")
async def query(request: Request) -> JSONResponse:
    provider: TrackingProvider = request.app.state.world.tracking
    await provider.faults.delay("kuaidi100.query")
    form = await request.form()
    try:
        answer = provider.answer_query(form.get("customer"), form.get("sign"), form.get("param"))
    except Refusal as exc:
        return JSONResponse(exc.body())
    return JSONResponse(answer)
