#include "provision/lab.hpp"
