#include "provision/rules.hpp"
