// rules
#pragma once
