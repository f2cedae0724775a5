import Koa from 'koa'
import { defineKoaSuite } from './koa-suite.js'

defineKoaSuite('Koa 3', Koa)
