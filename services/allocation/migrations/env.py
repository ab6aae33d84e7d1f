from runtime.migrations import run_env
from services.allocation.models import SCHEMA, Base
from services.allocation.settings import get_settings

run_env(Base.metadata, SCHEMA, get_settings().database_url)
