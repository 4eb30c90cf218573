module sampan/go_oracle

go 1.19
