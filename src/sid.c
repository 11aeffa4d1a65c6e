/* placeholder: being written */
#include "adenroll.h"
