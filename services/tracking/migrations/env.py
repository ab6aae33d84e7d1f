from runtime.migrations import run_env
from services.tracking.models import SCHEMA, Base
from services.tracking.settings import get_settings

run_env(Base.metadata, SCHEMA, get_settings().database_url)
