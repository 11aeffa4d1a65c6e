#include "adenroll.h"
int main(void) { return 1; }
