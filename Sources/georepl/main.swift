import Bindings
