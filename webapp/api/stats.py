"""统计分析 as JSON: the figures of the statistics page for the caller's problems, for a leadership
dashboard or a reporting tool on the intranet."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from rectiflow.read import statistics
from webapp.api import blp
from webapp.api.auth import token_required
from webapp.api.schemas import StatsQuery, StatsSchema
from webapp.web import actor, db, runtime


@blp.route("/stats")
class Stats(MethodView):
    @blp.arguments(StatsQuery, location="query")
    @blp.response(200, StatsSchema)
    @token_required
    def get(self, args: dict[str, Any]) -> Any:
        """Figures over the problems the caller may see; ``round`` and ``year`` narrow them (a round
        the caller cannot see is a 404). ``leads`` is present only for those who handle leads."""
        f = statistics.StatsFilter.from_args(args)
        overview, leads = statistics.figures(db(), actor(), runtime().clock.today(), f)
        return overview.as_dict() | ({"leads": leads} if leads is not None else {})
