"""CI helpers: the pull-request report (`make report`) and continuous training."""
