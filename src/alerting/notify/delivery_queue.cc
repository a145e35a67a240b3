// DeliveryQueue is a template (delivery_queue.h); this unit checks the header compiles alone.
#include "alerting/notify/delivery_queue.h"
