module medallion.local/cluster/pause

go 1.24
