from runtime.migrations import run_env
from services.shipping.models import SCHEMA, Base
from services.shipping.settings import get_settings

run_env(Base.metadata, SCHEMA, get_settings().database_url)
