# Hand-written stubs of the compiled module hyperzoom._core (mirror cpp/bindings/).
from . import conditions as conditions
from . import designs as designs
from . import importance as importance
from . import random as random
from . import region as region
from . import scales as scales
from . import schedule as schedule
from . import search as search
